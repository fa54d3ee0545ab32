//! Errors that cross the plugin boundary, classified by what the caller should do about them.

use std::error::Error as StdError;

/// What the runtime should do with an error: retry the operation, skip or dead-letter the
/// record, refuse the configuration, or fail the task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Transient: the same operation may succeed later (Java's `RetriableException`).
    Retriable,
    /// A record or value that cannot be handled (Java's `DataException`); retrying will not help.
    Data,
    /// A configuration that cannot work (Java's `ConfigException`).
    Config,
    /// Anything else: the task or connector cannot go on (Java's `ConnectException`).
    Fatal,
}

impl ErrorKind {
    /// The Java exception class name Kafka Connect would report for this kind, used in status
    /// traces and DLQ headers so that existing tooling recognises them.
    pub fn java_class(self) -> &'static str {
        match self {
            ErrorKind::Retriable => "org.apache.kafka.connect.errors.RetriableException",
            ErrorKind::Data => "org.apache.kafka.connect.errors.DataException",
            ErrorKind::Config => "org.apache.kafka.common.config.ConfigException",
            ErrorKind::Fatal => "org.apache.kafka.connect.errors.ConnectException",
        }
    }
}

/// The error type of every plugin call.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ConnectError {
    kind: ErrorKind,
    message: String,
    #[source]
    source: Option<Box<dyn StdError + Send + Sync + 'static>>,
}

/// Result of a plugin call.
pub type Result<T, E = ConnectError> = std::result::Result<T, E>;

impl ConnectError {
    /// An error of the given kind.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into(), source: None }
    }
    /// A transient error: the runtime may retry the operation.
    pub fn retriable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Retriable, message)
    }
    /// A bad record or value.
    pub fn data(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Data, message)
    }
    /// A bad configuration.
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, message)
    }
    /// An unrecoverable error.
    pub fn fatal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Fatal, message)
    }
    /// Attaches the underlying cause.
    pub fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }
    /// What kind of error this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    /// The message, without the causes.
    pub fn message(&self) -> &str {
        &self.message
    }
    /// True when retrying the failed operation may help.
    pub fn is_retriable(&self) -> bool {
        self.kind == ErrorKind::Retriable
    }
    /// A Java-style trace (`<class>: <message>` then one `Caused by:` line per cause), the shape
    /// Kafka Connect puts in the `trace` field of a FAILED status.
    pub fn trace(&self) -> String {
        let mut out = format!("{}: {}", self.kind.java_class(), self.message);
        let mut cause = StdError::source(self);
        while let Some(c) = cause {
            out.push_str("\nCaused by: ");
            out.push_str(&c.to_string());
            cause = c.source();
        }
        out
    }
}

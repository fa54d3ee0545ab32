//! Runtime errors: what went wrong, named so an operator can act on it.

use tributary_api::ConnectError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuntimeError {
    /// A worker or connector configuration is invalid; the message names the key(s).
    #[error("{0}")]
    Config(String),
    /// `connector.class` (or a converter class) names no known plugin.
    #[error("{0}")]
    PluginNotFound(String),
    #[error("Connector {0} not found")]
    ConnectorNotFound(String),
    /// Something named in a request does not exist; the message says what.
    #[error("{0}")]
    NotFound(String),
    /// Refused by the worker's configuration.
    #[error("{0}")]
    Forbidden(String),
    #[error("Connector {0} already exists")]
    ConnectorExists(String),
    /// A request that is well-formed but not allowed now.
    #[error("{0}")]
    BadRequest(String),
    #[error("Kafka error while {context}: {source}")]
    Kafka {
        context: String,
        #[source]
        source: rdkafka::error::KafkaError,
    },
    #[error("I/O error on {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// Distributed mode: the request must run on another worker (the leader, or the owner of
    /// a connector or task). The REST layer forwards it to `url`; `None`: no leader is known,
    /// a rebalance is under way.
    #[error("{message}")]
    RequestTarget { url: Option<String>, message: String },
    /// Not possible yet; try again later (HTTP 503).
    #[error("{0}")]
    Unavailable(String),
    /// Distributed mode: the group is rebalancing after a config change.
    #[error("Cannot complete request momentarily due to stale configuration (typically caused by a concurrent config change)")]
    RebalanceNeeded,
    #[error("{0}")]
    Other(String),
}

impl RuntimeError {
    pub fn kafka(context: impl Into<String>, source: rdkafka::error::KafkaError) -> Self {
        RuntimeError::Kafka { context: context.into(), source }
    }
    pub fn io(path: impl Into<String>, source: std::io::Error) -> Self {
        RuntimeError::Io { path: path.into(), source }
    }
}

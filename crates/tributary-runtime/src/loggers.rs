//! Log levels changeable at run time (`/admin/loggers`, KIP-495). Loggers are tracing targets
//! (`tributary_runtime::source_task`, ...) and `root`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `{"level": "INFO", "last_modified": <epoch ms or null>}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LoggerLevel {
    pub level: String,
    pub last_modified: Option<i64>,
}

/// Why a level change was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LoggerError {
    #[error("invalid log level '{0}'.")]
    InvalidLevel(String),
    #[error("{0}")]
    Failed(String),
}

/// Controls the process's log levels. The command line installs one; tests may run without.
pub trait LoggerControl: Send + Sync {
    /// `root` and every logger whose level was set.
    fn loggers(&self) -> BTreeMap<String, LoggerLevel>;
    /// Sets `logger` (and its children) to `level`; returns the loggers affected.
    fn set_level(&self, logger: &str, level: &str) -> Result<Vec<String>, LoggerError>;
}

/// Kafka's level names mapped to tracing's (`FATAL` is `error`, `ALL` is `trace`).
pub fn tracing_level(level: &str) -> Option<&'static str> {
    Some(match level.to_ascii_uppercase().as_str() {
        "ALL" | "TRACE" => "trace",
        "DEBUG" => "debug",
        "INFO" => "info",
        "WARN" => "warn",
        "ERROR" | "FATAL" => "error",
        "OFF" => "off",
        _ => return None,
    })
}

//! Kafka client security configured with Kafka's Java keys: `security.protocol`, `sasl.*` and
//! `ssl.*` translated for librdkafka ([`ClientSecurity`]), Java keystores read without a JVM
//! ([`keystore`]), and the SASL and TLS pieces of the connection the worker speaks the Kafka
//! protocol on itself (the group membership client: [`sasl`], [`tls`]).

mod client_security;
pub mod jaas;
pub mod keystore;
pub mod sasl;
pub mod tls;

pub use client_security::{is_security_key, ClientSecurity, Oidc, Sasl, Secret, SecurityProtocol, Tls};

/// A security key that cannot be used, named.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecurityError {
    #[error("Invalid value {value} for configuration {key}: {why}")]
    Invalid { key: String, value: String, why: String },
    /// As `Invalid`, for keys whose value may hold a secret: the value is not repeated.
    #[error("Invalid value for configuration {key}: {why}")]
    InvalidSecret { key: String, why: String },
    #[error("Missing required configuration \"{key}\": {why}")]
    Missing { key: String, why: String },
    #[error("Configuration {key} cannot be used: {why}")]
    Unsupported { key: String, why: String },
    #[error("Only one of {keys} may be set")]
    Conflict { keys: String },
    #[error("{key}: cannot read {path}: {why}")]
    Store { key: String, path: String, why: String },
}

impl SecurityError {
    fn invalid(key: &str, value: &str, why: &str) -> Self {
        Self::Invalid { key: key.into(), value: value.into(), why: why.into() }
    }
    fn invalid_secret(key: &str, why: String) -> Self {
        Self::InvalidSecret { key: key.into(), why }
    }
    /// The configuration key the error is about.
    pub fn key(&self) -> &str {
        match self {
            Self::Invalid { key, .. }
            | Self::InvalidSecret { key, .. }
            | Self::Missing { key, .. }
            | Self::Unsupported { key, .. }
            | Self::Store { key, .. } => key,
            Self::Conflict { keys } => keys,
        }
    }
}

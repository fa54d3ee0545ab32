//! Distributed mode: workers sharing one `group.id` form a group through Kafka's group
//! coordinator and keep configs, offsets and statuses in three compacted topics.

pub mod assignor;
pub mod config_log;
pub mod config_state;
pub mod connect_protocol;
pub mod distributed_config;
pub mod group_client;
mod group_wire;
pub use group_wire::GroupSecurity;
pub mod herder;
pub mod herder_api;
pub mod internal_topics;
pub mod kafka_log;
pub mod membership;
mod membership_io;
mod oauth_token;
pub mod offset_log;
pub mod records;
pub mod rest_client;
pub mod status_log;

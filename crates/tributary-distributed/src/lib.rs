//! Distributed mode (`DistributedHerder`): workers sharing one `group.id` form a group through
//! Kafka's group coordinator (spoken with kafka-protocol: `group_wire`, `membership`,
//! `group_client`), assign work with incremental cooperative rebalancing (`assignor`), and keep
//! configs, offsets and statuses in three compacted topics (`config_log`, `offset_log`,
//! `status_log`). It builds on the runtime (`tributary-runtime`: the worker, task loops,
//! connector calls, the `Herder` trait) as the standalone herder does.

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

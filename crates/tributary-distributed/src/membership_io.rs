//! What goes in and out of the membership state machine ([`super::membership`]): the
//! responses it is fed, the actions it asks for, the events its owner hears, and the Kafka
//! error codes it tells apart.

use std::time::Duration;

/// Kafka error codes this machine tells apart.
pub mod codes {
    pub const NONE: i16 = 0;
    pub const COORDINATOR_LOAD_IN_PROGRESS: i16 = 14;
    pub const COORDINATOR_NOT_AVAILABLE: i16 = 15;
    pub const NOT_COORDINATOR: i16 = 16;
    pub const ILLEGAL_GENERATION: i16 = 22;
    pub const UNKNOWN_MEMBER_ID: i16 = 25;
    pub const REBALANCE_IN_PROGRESS: i16 = 27;
    pub const MEMBER_ID_REQUIRED: i16 = 79;
    pub const FENCED_INSTANCE_ID: i16 = 82;
}

/// An error code's Kafka name, for logs and `Lost` reasons.
pub fn error_name(code: i16) -> String {
    match kafka_protocol::ResponseError::try_from_code(code) {
        None => "NONE".to_string(),
        Some(kafka_protocol::ResponseError::Unknown(c)) => format!("error code {c}"),
        Some(e) => format!("{e:?} ({code})"),
    }
}

/// What the elected leader gets to compute the assignment from.
#[derive(Debug, Clone, PartialEq)]
pub struct LeaderInput {
    pub generation: i32,
    pub protocol: String,
    pub leader_id: String,
    /// Every member's id with the metadata it sent for the elected protocol.
    pub members: Vec<(String, Vec<u8>)>,
}

/// What the owner of a membership hears about.
#[derive(Debug, Clone, PartialEq)]
pub enum GroupEvent {
    /// A rebalance completed: this member's SyncGroup assignment.
    Joined { generation: i32, member_id: String, leader_id: String, protocol: String, assignment: Vec<u8> },
    /// A rebalance started while this member held a generation (the coordinator's, or one the
    /// owner asked for); the client rejoins by itself and cooperative members keep working.
    Rebalancing,
    /// This member's generation is no longer valid (session expired, fenced, coordinator gone
    /// longer than the session timeout): stop all work; the client rejoins by itself.
    Lost { reason: String },
}

/// Timers of the protocol.
#[derive(Debug, Clone)]
pub struct MembershipConfig {
    pub session_timeout: Duration,
    pub heartbeat_interval: Duration,
    /// First pause after a failure; doubles per consecutive failure up to `retry_backoff_max`
    /// (Kafka's `retry.backoff.ms` / `retry.backoff.max.ms` defaults are 100 ms and 1 s).
    pub retry_backoff: Duration,
    pub retry_backoff_max: Duration,
}

/// The group coordinator, from FindCoordinator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coordinator {
    pub node_id: i32,
    pub host: String,
    pub port: u16,
}

/// The JoinGroup response fields the machine uses.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JoinResponse {
    pub error_code: i16,
    pub generation: i32,
    /// The elected sub-protocol; set when `error_code` is NONE.
    pub protocol: Option<String>,
    pub leader_id: String,
    pub member_id: String,
    /// Filled for the leader only.
    pub members: Vec<(String, Vec<u8>)>,
}

/// The SyncGroup response fields the machine uses.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SyncResponse {
    pub error_code: i16,
    /// The elected sub-protocol as the coordinator repeats it (SyncGroup v5+), to check it.
    pub protocol: Option<String>,
    pub assignment: Vec<u8>,
}

/// What the driver has to do next, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Send FindCoordinator (key type group) to a bootstrap broker.
    FindCoordinator,
    /// Ask the owner for its metadata and send JoinGroup to the coordinator.
    JoinGroup {
        member_id: String,
        reason: String,
    },
    /// This member leads: ask the owner for the assignment, then call [`Membership::on_assignment`].
    Assign(LeaderInput),
    SyncGroup {
        generation: i32,
        member_id: String,
        protocol: String,
        assignments: Vec<(String, Vec<u8>)>,
    },
    Heartbeat {
        generation: i32,
        member_id: String,
    },
    LeaveGroup {
        member_id: String,
    },
    /// Close the coordinator connection, abandoning any request in flight on it: the broker is
    /// not (or no longer) the coordinator, or a response there is no longer wanted.
    Disconnect,
    Emit(GroupEvent),
}

/// Where the member is, for logs and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Waiting (backing off) before the next attempt.
    Unjoined,
    FindingCoordinator,
    Joining,
    /// The leader waits for the owner's assignment.
    Assigning,
    Syncing,
    /// Holding a generation and heartbeating.
    Stable,
    Leaving,
    Left,
}

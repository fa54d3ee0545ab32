//! The worker-group membership client: a tokio task that speaks Kafka's classic group protocol
//! with protocol type `connect` (librdkafka only does `consumer` groups) and drives the state
//! machine of [`super::membership`], which decides everything; this file only moves bytes.
//!
//! Two connections at most: one to a bootstrap broker for FindCoordinator, one to the
//! coordinator. One request is in flight at a time.

use super::group_wire::{self as wire, Connection, JoinParams};
use super::membership::{Action, Membership, MembershipConfig};
pub use super::membership::{GroupEvent, LeaderInput};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// What a member needs to know to join.
#[derive(Debug, Clone)]
pub struct GroupSettings {
    /// `host:port` entries, tried in turn for FindCoordinator.
    pub bootstrap_servers: Vec<String>,
    pub group_id: String,
    pub client_id: String,
    pub session_timeout: Duration,
    pub rebalance_timeout: Duration,
    pub heartbeat_interval: Duration,
    pub security: super::group_wire::GroupSecurity,
}

/// The owner's part of a rebalance.
#[async_trait::async_trait]
pub trait GroupHooks: Send + Sync + 'static {
    /// Sub-protocols offered in preference order with their metadata bytes; called before every JoinGroup.
    async fn metadata(&self) -> Vec<(String, Vec<u8>)>;
    /// Called on the member elected leader, after JoinGroup, before SyncGroup: assignment bytes per member id.
    async fn assign(&self, input: LeaderInput) -> Vec<(String, Vec<u8>)>;
    /// Called with every event before it is queued for [`GroupMember::next_event`], and
    /// before the client can send another JoinGroup: the owner records what it now holds
    /// here, so the next `metadata` reports it even if the event is still queued.
    async fn on_event(&self, event: &GroupEvent) {
        let _ = event;
    }
}

/// Why a group request got no usable answer. Every one of these is retried by the client.
#[derive(Debug, thiserror::Error)]
pub enum GroupError {
    #[error("connecting to {addr}: {source}")]
    Connect { addr: String, source: std::io::Error },
    #[error("talking to {addr}: {source}")]
    Io { addr: String, source: std::io::Error },
    #[error("{what} to {addr} timed out")]
    Timeout { addr: String, what: &'static str },
    #[error("encoding {api}: {message}")]
    Encode { api: &'static str, message: String },
    #[error("decoding the {api} response: {message}")]
    Decode { api: &'static str, message: String },
    #[error("{addr} answered correlation id {got} to request {expected}")]
    Correlation { addr: String, expected: i32, got: i32 },
    #[error("{addr} sent a frame of {size} bytes")]
    FrameSize { addr: String, size: i32 },
    #[error("{addr}: {why}")]
    Malformed { addr: String, why: String },
    #[error("{addr} answered {api} with {}", super::membership::error_name(*error_code))]
    Broker { addr: String, api: &'static str, error_code: i16 },
    #[error("Authentication failed at {addr} with SASL mechanism {mechanism} as principal {principal}: {message}")]
    Authentication { addr: String, mechanism: &'static str, principal: String, message: String },
    #[error("TLS with {addr} failed: {message}")]
    Tls { addr: String, message: String },
    #[error("{addr} speaks {api} versions {broker_min}..={broker_max}, this client {ours_min}..={ours_max}")]
    UnsupportedVersion { addr: String, api: &'static str, broker_min: i16, broker_max: i16, ours_min: i16, ours_max: i16 },
}

/// Requests other than JoinGroup (which waits out a rebalance) get this long.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// JoinGroup may wait for the whole rebalance; this is its margin on top.
const JOIN_MARGIN: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long leaving may take inside the task, and how long `leave` waits for the task.
const LEAVE_TIMEOUT: Duration = Duration::from_secs(3);
const LEAVE_WAIT: Duration = Duration::from_secs(5);
const EVENT_CAPACITY: usize = 64;
const COMMAND_CAPACITY: usize = 8;

enum Command {
    Rejoin(String),
    Leave,
}

/// A running membership. Dropping it ends the task at once without LeaveGroup, as a crash
/// would: the coordinator expires the member after the session timeout.
pub struct GroupMember {
    commands: mpsc::Sender<Command>,
    events: mpsc::Receiver<GroupEvent>,
    task: Option<JoinHandle<()>>,
}

impl GroupMember {
    /// Spawns the membership task (on the current tokio runtime); it joins at once. The owner
    /// must keep reading [`GroupMember::next_event`]: a full event queue stalls heartbeats.
    pub fn spawn(settings: GroupSettings, hooks: Arc<dyn GroupHooks>) -> GroupMember {
        let (commands, command_rx) = mpsc::channel(COMMAND_CAPACITY);
        let (event_tx, events) = mpsc::channel(EVENT_CAPACITY);
        let now = tokio::time::Instant::now().into_std();
        let machine = Membership::new(
            MembershipConfig {
                session_timeout: settings.session_timeout,
                heartbeat_interval: settings.heartbeat_interval,
                retry_backoff: Duration::from_millis(100),
                retry_backoff_max: Duration::from_secs(1),
            },
            now,
        );
        let driver = Driver { settings, hooks, machine, events: event_tx, commands: command_rx, bootstrap: None, coordinator: None, next_bootstrap: 0 };
        GroupMember { commands, events, task: Some(tokio::spawn(driver.run())) }
    }

    /// Asks for a rebalance (JoinGroup from Stable); returns immediately. Requests made while
    /// one is queued are folded into it.
    pub fn rejoin(&self, reason: &str) {
        if self.commands.try_send(Command::Rejoin(reason.to_string())).is_err() {
            tracing::debug!(reason, "rejoin folded into one already queued");
        }
    }

    /// Next event; None once the task ended.
    pub async fn next_event(&mut self) -> Option<GroupEvent> {
        self.events.recv().await
    }

    /// Sends LeaveGroup (bounded by a few seconds) and ends the task.
    pub async fn leave(mut self) {
        let Some(mut task) = self.task.take() else { return };
        if self.commands.send(Command::Leave).await.is_err() {
            return; // the task has ended already
        }
        tokio::select! {
            _ = &mut task => {}
            _ = tokio::time::sleep(LEAVE_WAIT) => {
                tracing::warn!("leaving the group took too long; stopping anyway");
                task.abort();
            }
        }
    }
}

impl Drop for GroupMember {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Which connection a request uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Bootstrap,
    Coordinator,
}

enum Reply {
    Coordinator(Result<super::membership::Coordinator, i16>),
    Join(super::membership::JoinResponse),
    Sync(super::membership::SyncResponse),
    Heartbeat(i16),
    Leave(i16),
}

/// What a request task hands back: the connection (if still usable) and the outcome.
/// `GroupError` is big; boxed, it keeps the outcome small.
type Outcome = (Option<Connection>, Result<Reply, Box<GroupError>>);
type InFlight = (Target, Pin<Box<dyn Future<Output = Outcome> + Send>>);

/// A request as the machine asked for it, to be built once the connection's versions are known.
enum Request {
    FindCoordinator,
    Join { member_id: String, reason: String, protocols: Vec<(String, Vec<u8>)> },
    Sync { generation: i32, member_id: String, protocol: String, assignments: Vec<(String, Vec<u8>)> },
    Heartbeat { generation: i32, member_id: String },
    Leave { member_id: String },
}

struct Driver {
    settings: GroupSettings,
    hooks: Arc<dyn GroupHooks>,
    machine: Membership,
    events: mpsc::Sender<GroupEvent>,
    commands: mpsc::Receiver<Command>,
    bootstrap: Option<Connection>,
    coordinator: Option<Connection>,
    next_bootstrap: usize,
}

fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// Waits for the request in flight, or forever if there is none.
async fn reply(in_flight: &mut Option<InFlight>) -> Outcome {
    match in_flight {
        Some((_, future)) => future.await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
        None => std::future::pending().await,
    }
}

impl Driver {
    async fn run(mut self) {
        if self.settings.bootstrap_servers.is_empty() {
            tracing::error!(group = %self.settings.group_id, "no bootstrap servers: the group membership cannot start");
            return;
        }
        tracing::debug!(group = %self.settings.group_id, "group membership starting");
        let mut actions = self.machine.poll(now());
        let mut in_flight: Option<InFlight> = None;
        let mut leave_by: Option<Instant> = None;
        loop {
            for action in std::mem::take(&mut actions) {
                if !self.perform(action, &mut in_flight, &mut actions).await {
                    return;
                }
            }
            if !actions.is_empty() {
                continue; // an Assign produced the SyncGroup
            }
            if self.machine.is_left() {
                tracing::info!(group = %self.settings.group_id, member = %self.machine.member_id(), "left the group");
                return;
            }
            tokio::select! {
                (conn, result) = reply(&mut in_flight) => {
                    let Some((target, _)) = in_flight.take() else { continue };
                    actions = self.on_reply(target, conn, result);
                }
                _ = sleep_until(self.machine.deadline()) => actions = self.machine.poll(now()),
                _ = sleep_until(leave_by) => {
                    tracing::warn!(group = %self.settings.group_id, "LeaveGroup took too long; stopping without it");
                    return;
                }
                command = self.commands.recv(), if leave_by.is_none() => match command {
                    // The handle was dropped: a crash, as far as the group can tell.
                    None => return,
                    Some(Command::Rejoin(reason)) => actions = self.machine.rejoin(now(), &reason),
                    Some(Command::Leave) => {
                        leave_by = Some(now() + LEAVE_TIMEOUT);
                        actions = self.machine.leave(now());
                    }
                },
            }
        }
    }

    /// Carries out one action; false when the task has to end (the owner went away).
    async fn perform(&mut self, action: Action, in_flight: &mut Option<InFlight>, more: &mut Vec<Action>) -> bool {
        let request = match action {
            Action::Emit(event) => {
                self.log_event(&event);
                self.hooks.on_event(&event).await;
                return self.events.send(event).await.is_ok();
            }
            Action::Disconnect => {
                self.coordinator = None;
                if matches!(in_flight, Some((Target::Coordinator, _))) {
                    *in_flight = None; // dropping the future closes its connection
                }
                return true;
            }
            Action::Assign(input) => {
                tracing::debug!(generation = input.generation, members = input.members.len(), "this member leads: assigning");
                let assignments = self.hooks.assign(input).await;
                more.extend(self.machine.on_assignment(now(), assignments));
                return true;
            }
            Action::FindCoordinator => Request::FindCoordinator,
            Action::JoinGroup { member_id, reason } => {
                let protocols = self.hooks.metadata().await;
                tracing::debug!(member = %member_id, reason = %reason, "JoinGroup");
                Request::Join { member_id, reason, protocols }
            }
            Action::SyncGroup { generation, member_id, protocol, assignments } => Request::Sync { generation, member_id, protocol, assignments },
            Action::Heartbeat { generation, member_id } => Request::Heartbeat { generation, member_id },
            Action::LeaveGroup { member_id } => Request::Leave { member_id },
        };
        *in_flight = Some(self.start(request));
        true
    }

    fn log_event(&self, event: &GroupEvent) {
        let group = &self.settings.group_id;
        match event {
            GroupEvent::Joined { generation, member_id, leader_id, protocol, assignment } => {
                tracing::info!(group, generation, member = %member_id, leader = %leader_id, protocol, assignment_bytes = assignment.len(), "joined the group")
            }
            GroupEvent::Rebalancing => tracing::debug!(group, "group rebalancing"),
            GroupEvent::Lost { reason } => tracing::warn!(group, reason, "group membership lost"),
        }
    }

    /// Starts a request on the right connection (opening it if needed) as a future that owns it.
    fn start(&mut self, request: Request) -> InFlight {
        let leaving = matches!(request, Request::Leave { .. });
        let (target, addr, conn) = if let Request::FindCoordinator = request {
            let n = self.settings.bootstrap_servers.len();
            let addr = self.settings.bootstrap_servers[self.next_bootstrap % n].clone();
            (Target::Bootstrap, addr, self.bootstrap.take())
        } else {
            let addr = match self.machine.coordinator() {
                Some(c) if c.host.contains(':') => format!("[{}]:{}", c.host, c.port),
                Some(c) => format!("{}:{}", c.host, c.port),
                None => String::new(), // the machine never asks without one; the connect fails
            };
            (Target::Coordinator, addr, self.coordinator.take())
        };
        // A connection to a former coordinator is no use.
        let conn = conn.filter(|c| c.addr() == addr);
        let timeout = match (&request, leaving) {
            (_, true) => LEAVE_TIMEOUT,
            (Request::Join { .. }, _) => self.settings.rebalance_timeout + JOIN_MARGIN,
            _ => REQUEST_TIMEOUT,
        };
        let settings = self.settings.clone();
        let future = async move {
            let mut conn = match conn {
                Some(conn) => conn,
                None => match Connection::open(&addr, &settings.client_id, CONNECT_TIMEOUT.min(timeout), &settings.security).await {
                    Ok(conn) => conn,
                    Err(e) => return (None, Err(Box::new(e))),
                },
            };
            match exchange(&mut conn, &settings, request, timeout).await {
                Ok(reply) => (Some(conn), Ok(reply)),
                Err(e) => (None, Err(Box::new(e))),
            }
        };
        (target, Box::pin(future))
    }

    fn on_reply(&mut self, target: Target, conn: Option<Connection>, result: Result<Reply, Box<GroupError>>) -> Vec<Action> {
        match target {
            Target::Bootstrap => self.bootstrap = conn,
            Target::Coordinator => self.coordinator = conn,
        }
        let now = now();
        match result {
            Ok(Reply::Coordinator(found)) => self.machine.on_coordinator(now, found),
            Ok(Reply::Join(response)) => self.machine.on_join(now, response),
            Ok(Reply::Sync(response)) => self.machine.on_sync(now, response),
            Ok(Reply::Heartbeat(code)) => self.machine.on_heartbeat(now, code),
            Ok(Reply::Leave(code)) => self.machine.on_leave(now, code),
            Err(error) => {
                tracing::debug!(group = %self.settings.group_id, %error, "group request failed");
                if target == Target::Bootstrap {
                    self.next_bootstrap = self.next_bootstrap.wrapping_add(1);
                }
                self.machine.on_request_failed(now, &error.to_string())
            }
        }
    }
}

/// Builds the request for the connection's versions, sends it and boils the response down.
async fn exchange(conn: &mut Connection, settings: &GroupSettings, request: Request, timeout: Duration) -> Result<Reply, GroupError> {
    let v = conn.versions;
    let group = settings.group_id.as_str();
    Ok(match request {
        Request::FindCoordinator => {
            let response = conn.send(&wire::find_coordinator_request(group, v.find_coordinator), v.find_coordinator, timeout).await?;
            Reply::Coordinator(wire::coordinator_from(response, v.find_coordinator, conn.addr())?)
        }
        Request::Join { member_id, reason, protocols } => {
            let params = JoinParams {
                group_id: group,
                member_id: &member_id,
                reason: &reason,
                session_timeout: settings.session_timeout,
                rebalance_timeout: settings.rebalance_timeout,
                protocols,
            };
            let response = conn.send(&wire::join_group_request(params, v.join_group), v.join_group, timeout).await?;
            Reply::Join(wire::join_response(response))
        }
        Request::Sync { generation, member_id, protocol, assignments } => {
            let request = wire::sync_group_request(group, generation, &member_id, &protocol, assignments, v.sync_group);
            Reply::Sync(wire::sync_response(conn.send(&request, v.sync_group, timeout).await?))
        }
        Request::Heartbeat { generation, member_id } => {
            let response = conn.send(&wire::heartbeat_request(group, generation, &member_id), v.heartbeat, timeout).await?;
            Reply::Heartbeat(response.error_code)
        }
        Request::Leave { member_id } => {
            let response = conn.send(&wire::leave_group_request(group, &member_id, v.leave_group), v.leave_group, timeout).await?;
            Reply::Leave(wire::leave_error(&response))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct NoHooks;

    #[async_trait::async_trait]
    impl GroupHooks for NoHooks {
        async fn metadata(&self) -> Vec<(String, Vec<u8>)> {
            vec![("sessioned".into(), vec![])]
        }
        async fn assign(&self, _: LeaderInput) -> Vec<(String, Vec<u8>)> {
            vec![]
        }
    }

    fn settings(bootstrap: Vec<String>) -> GroupSettings {
        GroupSettings {
            bootstrap_servers: bootstrap,
            group_id: "g".into(),
            client_id: "c".into(),
            session_timeout: Duration::from_secs(6),
            rebalance_timeout: Duration::from_secs(10),
            heartbeat_interval: Duration::from_secs(1),
            security: crate::group_wire::GroupSecurity::plaintext(),
        }
    }

    #[tokio::test]
    async fn without_bootstrap_servers_the_task_ends() {
        let mut member = GroupMember::spawn(settings(vec![]), Arc::new(NoHooks));
        let next = tokio::time::timeout(Duration::from_secs(5), member.next_event()).await;
        assert_eq!(next, Ok(None));
    }

    /// A member the coordinator never named has nothing to leave: `leave` returns at once even
    /// with no broker to talk to, and `rejoin` meanwhile is harmless.
    #[tokio::test]
    async fn leaving_before_joining_needs_no_broker() {
        // Port 1 on loopback: connections are refused, so the client keeps backing off.
        let member = GroupMember::spawn(settings(vec!["127.0.0.1:1".into()]), Arc::new(NoHooks));
        for _ in 0..20 {
            member.rejoin("again");
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let started = std::time::Instant::now();
        member.leave().await;
        assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
    }
}

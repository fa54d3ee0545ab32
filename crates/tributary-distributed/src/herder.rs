//! The distributed herder (`DistributedHerder`): one worker of a group. It joins the group,
//! runs what the leader assigns it, follows the config topic, and (as leader) assigns work and
//! makes the writes only the leader may make. REST operations are in `herder_api`.
//!
//! One loop task reacts to group events, config topic changes and timers; lifecycle changes
//! run under one lock (`running`), plugin calls on threads of their own under timeouts.

use crate::assignor::{self, ClusterSnapshot, IncrementalCooperativeAssignor, Member, Work};
use crate::config_log::ConfigLog;
use crate::config_state::ClusterConfigState;
use crate::connect_protocol::{Assignment, Protocol, WorkerMetadata, NO_ERROR};
use crate::distributed_config::DistributedConfig;
use crate::group_client::{GroupEvent, GroupHooks, GroupMember, GroupSettings, LeaderInput};
use crate::offset_log::KafkaOffsetStore;
use crate::records::TargetState;
use crate::rest_client;
use crate::status_log::StatusLog;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tributary_api::{ConfigMap, ConnectorType};
use tributary_runtime::connector_calls;
use tributary_runtime::connector_calls::{ConnectorInstance, ReconfigurationRequests};
use tributary_runtime::error::RuntimeError;
use tributary_runtime::status::State;
use tributary_runtime::worker::{TaskHandle, Worker};

/// What this worker knows about the group.
#[derive(Debug, Default, Clone)]
pub(crate) struct GroupView {
    pub member_id: String,
    pub leader_id: String,
    pub leader_url: Option<String>,
    pub generation: i32,
    pub protocol: Option<Protocol>,
    /// Between a rebalance starting and this worker's assignment arriving.
    pub rebalancing: bool,
    /// Everything this worker runs.
    pub owned: BTreeSet<Work>,
}

impl GroupView {
    pub fn is_leader(&self) -> bool {
        !self.member_id.is_empty() && self.member_id == self.leader_id
    }
}

struct ConnectorRun {
    instance: Option<ConnectorInstance>,
    config: ConfigMap,
    target: TargetState,
}

struct TaskRun {
    handle: TaskHandle,
    /// The task config and connector config it was started with: it restarts only when one
    /// of them changes (an identical rewrite of the task configs moves nothing).
    task_config: ConfigMap,
    connector_config: ConfigMap,
}

/// What runs here, and the config state it was last reconciled with.
struct Running {
    connectors: BTreeMap<String, ConnectorRun>,
    tasks: BTreeMap<(String, u32), TaskRun>,
    applied: ClusterConfigState,
}

pub struct DistributedHerder {
    pub(crate) worker: Arc<Worker>,
    pub(crate) cluster_id: String,
    pub(crate) config: DistributedConfig,
    /// This worker's advertised REST URL, `http://host:port/`.
    pub(crate) url: String,
    pub(crate) config_log: ConfigLog,
    pub(crate) offsets: Arc<KafkaOffsetStore>,
    status_log: StatusLog,
    pub(crate) view: std::sync::RwLock<GroupView>,
    running: tokio::sync::Mutex<Running>,
    assignor: std::sync::Mutex<IncrementalCooperativeAssignor>,
    /// Leader only: the REST URL of the worker running each item, for forwarding restarts.
    pub(crate) owners: std::sync::Mutex<BTreeMap<Work, String>>,
    rejoin_tx: tokio::sync::mpsc::Sender<String>,
    pub(crate) ready: AtomicBool,
    shutdown: CancellationToken,
    pub(crate) loggers: Option<Arc<dyn tributary_runtime::loggers::LoggerControl>>,
    /// Serialises the leader's config-topic writes, as Kafka's single herder thread does.
    pub(crate) leader_writes: tokio::sync::Mutex<()>,
    me: std::sync::OnceLock<Weak<Self>>,
    /// (revocations received, revocations carried out), counted by rebalance: the next
    /// JoinGroup waits until revoked work has stopped, so no two workers run it at once.
    stops: tokio::sync::watch::Sender<(u64, u64)>,
    /// Connectors running here that asked for their task configs to be generated again.
    reconfigurations: Arc<ReconfigurationRequests>,
}

struct Hooks(Weak<DistributedHerder>);

impl DistributedHerder {
    /// Reads the config and status topics, then joins the group; returns once started (the
    /// first assignment arrives asynchronously).
    pub async fn start(
        worker: Arc<Worker>,
        offsets: Arc<KafkaOffsetStore>,
        cluster_id: String,
        config: DistributedConfig,
        url: String,
        loggers: Option<Arc<dyn tributary_runtime::loggers::LoggerControl>>,
    ) -> Result<(Arc<Self>, tokio::task::JoinHandle<()>), RuntimeError> {
        let base = format!("{}-", config.group_id);
        let config_log = ConfigLog::start(&worker.config, &config.config_topic.name, &format!("{base}configs")).await?;
        config_log.read_to_end(Duration::from_secs(60)).await?;
        let status_log =
            StatusLog::start(&worker.config, &config.status_topic.name, &format!("{base}statuses"), worker.status.clone(), worker.worker_id.clone()).await?;
        let (rejoin_tx, rejoin_rx) = tokio::sync::mpsc::channel(16);
        let applied = config_log.snapshot();
        let herder = Arc::new(Self {
            assignor: std::sync::Mutex::new(IncrementalCooperativeAssignor::new(config.scheduled_rebalance_max_delay)),
            worker,
            cluster_id,
            url,
            config_log,
            offsets,
            status_log,
            view: std::sync::RwLock::new(GroupView { rebalancing: true, ..Default::default() }),
            running: tokio::sync::Mutex::new(Running { connectors: BTreeMap::new(), tasks: BTreeMap::new(), applied }),
            owners: Default::default(),
            rejoin_tx,
            ready: AtomicBool::new(false),
            shutdown: CancellationToken::new(),
            loggers,
            leader_writes: tokio::sync::Mutex::new(()),
            me: std::sync::OnceLock::new(),
            stops: tokio::sync::watch::Sender::new((0, 0)),
            reconfigurations: Arc::default(),
            config,
        });
        let _ = herder.me.set(Arc::downgrade(&herder));
        let security = tributary_runtime::kafka::client_security(&herder.worker.config, tributary_runtime::kafka::ClientScope::Worker, None)?;
        let security = super::group_wire::GroupSecurity::new(security).map_err(RuntimeError::Config)?;
        let settings = GroupSettings {
            bootstrap_servers: herder.worker.config.bootstrap().split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect(),
            group_id: herder.config.group_id.clone(),
            client_id: format!("connect-{}", herder.worker.worker_id),
            session_timeout: herder.config.session_timeout,
            rebalance_timeout: herder.config.rebalance_timeout,
            heartbeat_interval: herder.config.heartbeat_interval,
            security,
        };
        let group = GroupMember::spawn(settings, Arc::new(Hooks(Arc::downgrade(&herder))));
        let looped = tokio::spawn(herder.clone().run(group, rejoin_rx));
        Ok((herder, looped))
    }

    pub(crate) fn view(&self) -> GroupView {
        self.view.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn update_view(&self, f: impl FnOnce(&mut GroupView)) {
        f(&mut self.view.write().unwrap_or_else(|p| p.into_inner()));
    }

    /// Asks for a rebalance (coalesced).
    pub(crate) fn request_rejoin(&self, reason: &str) {
        let _ = self.rejoin_tx.try_send(reason.to_owned());
    }

    /// Stops everything here and leaves the group (its work moves at once).
    pub fn shutdown(&self) {
        self.shutdown.cancel();
    }

    async fn run(self: Arc<Self>, mut group: GroupMember, mut rejoin_rx: tokio::sync::mpsc::Receiver<String>) {
        let mut config_changes = self.config_log.subscribe();
        let mut rejoin_at: Option<tokio::time::Instant> = None;
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let scheduled = async {
                match rejoin_at {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = self.shutdown.cancelled() => break,
                event = group.next_event() => match event {
                    Some(GroupEvent::Joined { generation, member_id, leader_id, protocol, assignment }) => {
                        match self.on_joined(generation, member_id, leader_id, &protocol, &assignment).await {
                            Some(delay) => rejoin_at = Some(tokio::time::Instant::now() + delay),
                            None => rejoin_at = None,
                        }
                    }
                    Some(GroupEvent::Rebalancing) => {}
                    Some(GroupEvent::Lost { reason }) => {
                        tracing::warn!(reason = %reason, "group membership lost; stopping everything this worker ran");
                        self.converge().await;
                    }
                    None => {
                        tracing::error!("the group membership task ended");
                        break;
                    }
                },
                changed = config_changes.changed() => {
                    if changed.is_ok() {
                        self.reconcile().await;
                    }
                }
                Some(reason) = rejoin_rx.recv() => {
                    tracing::info!(reason = %reason, "requesting a rebalance");
                    group.rejoin(&reason);
                }
                _ = scheduled => {
                    rejoin_at = None;
                    group.rejoin("scheduled rebalance");
                }
                _ = tick.tick() => self.periodic().await,
                names = self.reconfigurations.next() => {
                    for name in names {
                        // On its own task: a connector busy in plugin code delays only itself.
                        let herder = self.clone();
                        tokio::spawn(async move { herder.reconfigure(&name).await });
                    }
                }
            }
        }
        self.stop_everything().await;
        group.leave().await;
        self.config_log.stop();
        self.status_log.stop();
        self.offsets.stop();
    }

    /// Records an event's effect on what this worker holds, before the group client can
    /// rejoin (called from the client's task; no plugin calls here).
    fn record_event(&self, event: &GroupEvent) {
        match event {
            GroupEvent::Joined { generation, member_id, leader_id, protocol, assignment } => {
                let Ok(a) = Assignment::decode(assignment) else { return };
                if a.error != NO_ERROR {
                    return;
                }
                let revoked = assignor::to_work(a.revoked.as_deref().unwrap_or_default());
                let assigned = assignor::to_work(a.assigned.as_deref().unwrap_or_default());
                if !revoked.is_empty() {
                    self.stops.send_modify(|(requested, _)| *requested += 1);
                }
                let eager = Protocol::from_name(protocol) == Some(Protocol::Eager);
                self.update_view(|v| {
                    v.member_id = member_id.clone();
                    v.leader_id = leader_id.clone();
                    v.leader_url = Some(a.leader_url.clone());
                    v.generation = *generation;
                    v.protocol = Protocol::from_name(protocol);
                    v.rebalancing = false;
                    if eager {
                        // An eager assignment is the member's whole set, not a change to it.
                        v.owned = assigned;
                    } else {
                        v.owned.retain(|w| !revoked.contains(w));
                        v.owned.extend(assigned);
                    }
                });
            }
            GroupEvent::Rebalancing => self.update_view(|v| v.rebalancing = true),
            GroupEvent::Lost { .. } => {
                self.stops.send_modify(|(requested, _)| *requested += 1);
                self.update_view(|v| {
                    v.rebalancing = true;
                    v.owned.clear();
                });
            }
        }
    }

    /// Handles a completed rebalance; returns the delay of a scheduled follow-up, if any.
    async fn on_joined(&self, generation: i32, _member_id: String, leader_id: String, protocol: &str, bytes: &[u8]) -> Option<Duration> {
        let assignment = match Assignment::decode(bytes) {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(error = %e, "unreadable assignment; rejoining");
                self.request_rejoin("unreadable assignment");
                return None;
            }
        };
        if assignment.error != NO_ERROR {
            tracing::info!(leader_offset = assignment.config_offset, "config offsets differ across the group; catching up and rejoining");
            let _ = self.config_log.read_to_end(self.config.worker_sync_timeout).await;
            self.request_rejoin("config mismatch");
            return None;
        }
        if self.config_log.offset() < assignment.config_offset {
            if let Err(e) = self.config_log.read_to_end(self.config.worker_sync_timeout).await {
                tracing::warn!(error = %e, "could not catch up with the config topic; rejoining");
                self.request_rejoin("taking too long to read the log");
                return None;
            }
            let local = self.config_log.offset();
            if local < assignment.config_offset {
                // The whole topic is read and still short of the leader's offset: the leader
                // reads another topic. Starting work from a config we cannot see would be
                // wrong; try again later.
                tracing::error!(
                    topic = %self.config.config_topic.name,
                    local_offset = local,
                    leader_offset = assignment.config_offset,
                    leader = %assignment.leader_url,
                    "this worker's config topic ends before the offset the leader assigned work at: the workers of group '{}' disagree on config.storage.topic (or on bootstrap.servers); fix the worker configurations",
                    self.config.group_id
                );
                return Some(Duration::from_secs(10));
            }
        }
        let revoked = assignor::to_work(assignment.revoked.as_deref().unwrap_or_default());
        let assigned = assignor::to_work(assignment.assigned.as_deref().unwrap_or_default());
        tracing::info!(generation, leader = %leader_id, protocol, assigned = ?assigned, revoked = ?revoked, "joined the group");
        self.status_log.set_generation(generation);
        self.ready.store(true, Ordering::SeqCst);
        self.converge().await;
        self.reconcile().await;
        if !revoked.is_empty() {
            self.request_rejoin("revoked work to hand over");
        }
        if self.view().is_leader() {
            self.leader_after_assignment().await;
        }
        (assignment.delay_ms > 0).then(|| Duration::from_millis(assignment.delay_ms as u64))
    }

    /// Makes what runs here what this worker holds: stops the rest, starts what is missing.
    async fn converge(&self) {
        let mut running = self.running.lock().await;
        let requested = self.stops.borrow().0;
        let owned = self.view().owned;
        let extra: BTreeSet<Work> = running
            .connectors
            .keys()
            .map(|c| Work::Connector(c.clone()))
            .chain(running.tasks.keys().map(|(c, t)| Work::Task(c.clone(), *t)))
            .filter(|w| !owned.contains(w))
            .collect();
        self.stop_items(&mut running, &extra).await;
        self.stops.send_modify(|(_, done)| *done = (*done).max(requested));
        let missing: Vec<&Work> = owned
            .iter()
            .filter(|w| match w {
                Work::Connector(c) => !running.connectors.contains_key(c),
                Work::Task(c, t) => !running.tasks.contains_key(&(c.clone(), *t)),
            })
            .collect();
        if missing.iter().any(|w| matches!(w, Work::Task(..))) {
            // Tasks that moved here continue from what their previous owner committed.
            if let Err(e) = self.offsets.read_to_end().await {
                tracing::warn!(error = %e, "could not catch up with the offsets topic before starting tasks");
            }
        }
        let snapshot = self.config_log.snapshot();
        for item in missing {
            self.start_item(&mut running, &snapshot, item).await;
        }
    }

    /// Leader housekeeping after an assignment: statuses of deleted connectors are
    /// tombstoned, and the session key is written when needed.
    async fn leader_after_assignment(&self) {
        let configured = self.config_log.with(|s| s.connectors.keys().cloned().collect::<BTreeSet<_>>());
        for name in self.worker.status.connector_names() {
            if !configured.contains(&name) {
                for (task, _) in self.worker.status.tasks(&name) {
                    self.worker.status.delete(&name, Some(task));
                }
                self.worker.status.delete(&name, None);
            }
        }
        self.rotate_session_key_if_needed().await;
    }

    async fn rotate_session_key_if_needed(&self) {
        if self.view().protocol != Some(Protocol::Sessioned) {
            return;
        }
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
        let ttl = self.config.key_ttl.as_millis() as i64;
        let fresh = self
            .config_log
            .with(|s| s.session_key.as_ref().is_some_and(|k| k.algorithm == rest_client::HMAC_SHA256 && k.key.len() == 32 && k.creation_timestamp + ttl > now));
        if fresh {
            return;
        }
        let mut key = [0u8; 32];
        if ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut key).is_err() {
            tracing::error!("cannot generate a session key");
            return;
        }
        let _guard = self.leader_writes.lock().await;
        match self.config_log.put_session_key(&key, rest_client::HMAC_SHA256, now).await {
            Ok(()) => tracing::info!("wrote a new session key"),
            Err(e) => tracing::error!(error = %e, "cannot write the session key"),
        }
    }

    async fn periodic(&self) {
        if self.view().is_leader() {
            self.rotate_session_key_if_needed().await;
        }
    }

    /// Stops the given items if they run here.
    async fn stop_items(&self, running: &mut Running, items: &BTreeSet<Work>) {
        let mut by_connector: BTreeMap<String, Vec<TaskHandle>> = BTreeMap::new();
        for item in items {
            if let Work::Task(c, t) = item {
                if let Some(run) = running.tasks.remove(&(c.clone(), *t)) {
                    by_connector.entry(c.clone()).or_default().push(run.handle);
                }
            }
        }
        let stops = by_connector.into_iter().map(|(c, handles)| {
            let worker = self.worker.clone();
            async move { worker.stop_tasks(&c, handles).await }
        });
        futures_util::future::join_all(stops).await;
        for item in items {
            if let Work::Connector(c) = item {
                if let Some(run) = running.connectors.remove(c) {
                    if let Some(instance) = run.instance {
                        connector_calls::stop_instance(c, instance).await;
                    }
                    self.worker.connector_status(c, State::Unassigned, None);
                }
            }
        }
    }

    async fn stop_everything(&self) {
        let mut running = self.running.lock().await;
        let all: BTreeSet<Work> =
            running.connectors.keys().map(|c| Work::Connector(c.clone())).chain(running.tasks.keys().map(|(c, t)| Work::Task(c.clone(), *t))).collect();
        self.stop_items(&mut running, &all).await;
        self.update_view(|v| v.owned.clear());
    }

    async fn start_item(&self, running: &mut Running, snapshot: &ClusterConfigState, item: &Work) {
        match item {
            Work::Connector(name) => self.start_connector(running, snapshot, name).await,
            Work::Task(name, id) => self.start_task(running, snapshot, name, *id),
        }
    }

    /// Brings an owned connector to its target state.
    async fn start_connector(&self, running: &mut Running, snapshot: &ClusterConfigState, name: &str) {
        let Some(c) = snapshot.connectors.get(name) else { return };
        let mut run = ConnectorRun { instance: None, config: c.config.clone(), target: c.target };
        match c.target {
            TargetState::Stopped => self.worker.connector_status(name, State::Stopped, None),
            TargetState::Paused => self.worker.connector_status(name, State::Paused, None),
            TargetState::Started => match connector_calls::start_instance(&self.worker, name, &c.config, &self.reconfigurations).await {
                Ok((instance, configs)) => {
                    run.instance = Some(instance);
                    self.worker.connector_status(name, State::Running, None);
                    let changed = c.inconsistent || c.tasks != configs || c.tasks_from_config.as_ref() != Some(&c.config);
                    if changed {
                        self.publish_task_configs(name, configs);
                    }
                }
                Err(e) => self.worker.connector_status(name, State::Failed, Some(e.to_string())),
            },
        }
        running.connectors.insert(name.to_owned(), run);
    }

    /// Asks a connector running here for its task configs again and publishes them when they
    /// changed; the config topic then restarts the tasks whose config changed, wherever they run.
    async fn reconfigure(&self, name: &str) {
        let mut running = self.running.lock().await;
        let Some(run) = running.connectors.get_mut(name) else { return };
        if run.target != TargetState::Started {
            return;
        }
        let Some(instance) = run.instance.take() else { return };
        let config = run.config.clone();
        let (instance, result) = connector_calls::regenerate_task_configs(&self.worker, name, &config, instance).await;
        if let Some(run) = running.connectors.get_mut(name) {
            run.instance = instance;
        }
        match result {
            Ok(configs) => {
                let changed = self
                    .config_log
                    .with(|s| s.connectors.get(name).is_some_and(|c| c.inconsistent || c.tasks != configs || c.tasks_from_config.as_ref() != Some(&c.config)));
                if changed {
                    tracing::info!(connector = name, tasks = configs.len(), "connector reconfigured its tasks");
                    self.publish_task_configs(name, configs);
                }
            }
            Err(e) => {
                tracing::error!(connector = name, error = %e, "reconfiguration failed");
                self.worker.connector_status(name, State::Failed, Some(e.to_string()));
            }
        }
    }

    fn start_task(&self, running: &mut Running, snapshot: &ClusterConfigState, name: &str, id: u32) {
        let Some(c) = snapshot.connectors.get(name) else { return };
        let Some(task_config) = c.tasks.get(id as usize) else { return };
        if c.target == TargetState::Stopped {
            return;
        }
        let class = c.config.get(tributary_runtime::connector_config::CONNECTOR_CLASS).cloned().unwrap_or_default();
        let tc = self.worker.providers.resolve(task_config);
        let connector_config = self.worker.providers.resolve(&c.config);
        let paused = c.target == TargetState::Paused;
        let started = self.worker.plugins.new_connector(&class).and_then(|plugin| match plugin {
            ConnectorType::Source(p) => self.worker.start_source_task(name, id, p.create_task(), tc, &connector_config, paused),
            ConnectorType::Sink(p) => self.worker.start_sink_task(name, id, p.create_task(), tc, &connector_config, paused),
        });
        match started {
            Ok(handle) => {
                tracing::info!(connector = name, task = id, "task started");
                running.tasks.insert((name.to_owned(), id), TaskRun { handle, task_config: task_config.clone(), connector_config: c.config.clone() });
            }
            Err(e) => self.worker.status.put_task(
                name,
                id,
                tributary_runtime::status::Status { state: State::Failed, worker_id: self.worker.worker_id.clone(), trace: Some(e.to_string()) },
            ),
        }
    }

    /// Writes (leader) or sends to the leader (follower) new task configs, retrying with
    /// Kafka's backoff (250 ms doubling to 60 s) until it succeeds or the connector is gone.
    fn publish_task_configs(&self, name: &str, configs: Vec<ConfigMap>) {
        let Some(herder) = self.weak_self() else { return };
        let name = name.to_owned();
        tokio::spawn(async move {
            let mut backoff = Duration::from_millis(250);
            loop {
                let Some(h) = herder.upgrade() else { return };
                if !h.view().owned.contains(&Work::Connector(name.clone())) {
                    return;
                }
                match h.send_task_configs(&name, &configs).await {
                    Ok(()) => return,
                    Err(e) => tracing::warn!(connector = %name, error = %e, retry_in = ?backoff, "cannot publish task configs; retrying"),
                }
                drop(h);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(60));
            }
        });
    }

    fn weak_self(&self) -> Option<Weak<Self>> {
        self.me.get().cloned()
    }

    async fn send_task_configs(&self, name: &str, configs: &[ConfigMap]) -> Result<(), RuntimeError> {
        let view = self.view();
        if view.is_leader() {
            return self.write_task_configs(name, configs.to_vec()).await;
        }
        let leader = view.leader_url.ok_or_else(|| RuntimeError::Other("no known leader".into()))?;
        let body = serde_json::to_vec(configs).map_err(|e| RuntimeError::Other(e.to_string()))?;
        let mut headers = Vec::new();
        if view.protocol == Some(Protocol::Sessioned) {
            let key = self.config_log.with(|s| s.session_key.as_ref().map(|k| k.key.clone()));
            let key = key.ok_or_else(|| RuntimeError::Other("no session key yet to sign the request with".into()))?;
            headers = rest_client::signature_headers(&key, &body);
        }
        let url = rest_client::join(&leader, &format!("/connectors/{}/tasks?forward=true", crate::herder_api::encode_path(name)));
        let response = rest_client::send("POST", &url, &headers, Some(body), Duration::from_secs(30)).await?;
        if response.status >= 400 {
            return Err(RuntimeError::Other(format!("leader answered {}: {}", response.status, String::from_utf8_lossy(&response.body))));
        }
        Ok(())
    }

    /// Leader: writes task configs (refused for a STOPPED connector, as Kafka does).
    pub(crate) async fn write_task_configs(&self, name: &str, configs: Vec<ConfigMap>) -> Result<(), RuntimeError> {
        let _guard = self.leader_writes.lock().await;
        let (target, unchanged) = self.config_log.with(|s| match s.connectors.get(name) {
            Some(c) => (Some(c.target), !c.inconsistent && c.tasks == configs && c.tasks_from_config.as_ref() == Some(&c.config)),
            None => (None, false),
        });
        match target {
            None => Err(RuntimeError::ConnectorNotFound(name.to_owned())),
            // Two workers may both have generated the same configs around a rebalance; a
            // second identical commit would only cause another rebalance.
            Some(_) if unchanged => Ok(()),
            Some(TargetState::Stopped) if !configs.is_empty() => {
                Err(RuntimeError::BadRequest(format!("Cannot submit non-empty set of task configs for stopped connector {name}")))
            }
            Some(_) => self.config_log.put_task_configs(name, configs).await,
        }
    }

    /// Applies config topic changes to what runs here, and asks for a rebalance when the set
    /// of work changed.
    pub(crate) async fn reconcile(&self) {
        let mut running = self.running.lock().await;
        let new = self.config_log.snapshot();
        let old = std::mem::replace(&mut running.applied, new.clone());
        if old.work() != new.work() || old.connectors.iter().any(|(n, c)| new.connectors.get(n).is_some_and(|d| d.task_generation != c.task_generation)) {
            self.request_rejoin("connectors or task configs changed");
        }
        let owned = self.view().owned;
        // Connectors running here.
        let names: Vec<String> = running.connectors.keys().cloned().collect();
        for name in names {
            let Some(c) = new.connectors.get(&name) else {
                // Deleted: stop it; the leader tombstones its status after the next rebalance.
                let item = BTreeSet::from([Work::Connector(name.clone())]);
                self.stop_items(&mut running, &item).await;
                self.update_view(|v| {
                    v.owned.remove(&Work::Connector(name.clone()));
                });
                continue;
            };
            let restart = new.restarts.get(&name).filter(|r| old.restarts.get(&name).is_none_or(|o| o.seq < r.seq)).copied();
            let run = running.connectors.get(&name);
            let changed = run.is_some_and(|r| r.config != c.config || r.target != c.target);
            let restart_connector = restart.is_some_and(|r| r.request().restarts_connector(self.worker.state_of(&name, None)));
            if changed || restart_connector {
                if let Some(instance) = running.connectors.get_mut(&name).and_then(|r| r.instance.take()) {
                    connector_calls::stop_instance(&name, instance).await;
                }
                if restart_connector {
                    self.worker.connector_status(&name, State::Restarting, None);
                }
                self.start_connector(&mut running, &new, &name).await;
            }
        }
        // Tasks running here.
        let tasks: Vec<(String, u32)> = running.tasks.keys().cloned().collect();
        for (name, id) in tasks {
            let Some(c) = new.connectors.get(&name) else {
                self.stop_owned_task(&mut running, &name, id).await;
                continue;
            };
            if id as usize >= c.tasks.len() || c.target == TargetState::Stopped {
                self.stop_owned_task(&mut running, &name, id).await;
                continue;
            }
            let reconfigured =
                running.tasks.get(&(name.clone(), id)).is_some_and(|t| Some(&t.task_config) != c.tasks.get(id as usize) || t.connector_config != c.config);
            let restart = new.restarts.get(&name).filter(|r| old.restarts.get(&name).is_none_or(|o| o.seq < r.seq)).copied();
            let restart_task = restart.is_some_and(|r| r.request().restarts_task(self.worker.state_of(&name, Some(id))));
            if reconfigured || restart_task {
                if let Some(run) = running.tasks.remove(&(name.clone(), id)) {
                    self.worker.stop_tasks(&name, vec![run.handle]).await;
                }
                if restart_task {
                    self.task_status(&name, id, State::Restarting);
                }
                self.start_task(&mut running, &new, &name, id);
                continue;
            }
            let target_changed = old.connectors.get(&name).is_some_and(|o| o.target != c.target);
            if target_changed {
                if let Some(run) = running.tasks.get(&(name.clone(), id)) {
                    let paused = c.target == TargetState::Paused;
                    run.handle.set_paused(paused);
                    self.task_status(&name, id, if paused { State::Paused } else { State::Running });
                }
            }
        }
        // Owned tasks that are not running (their configs arrived after the assignment).
        for item in &owned {
            if let Work::Task(name, id) = item {
                if !running.tasks.contains_key(&(name.clone(), *id)) && new.connectors.get(name).is_some_and(|c| (*id as usize) < c.tasks.len()) {
                    let fresh = old.connectors.get(name).map(|c| c.task_generation) != new.connectors.get(name).map(|c| c.task_generation);
                    if fresh {
                        self.start_task(&mut running, &new, name, *id);
                    }
                }
            }
        }
    }

    /// Restarts a task this worker runs (`POST /connectors/{c}/tasks/{t}/restart`).
    pub(crate) async fn restart_task_here(&self, name: &str, id: u32) {
        let mut running = self.running.lock().await;
        if let Some(run) = running.tasks.remove(&(name.to_owned(), id)) {
            self.worker.stop_tasks(name, vec![run.handle]).await;
        }
        self.task_status(name, id, State::Restarting);
        let snapshot = self.config_log.snapshot();
        self.start_task(&mut running, &snapshot, name, id);
    }

    async fn stop_owned_task(&self, running: &mut Running, name: &str, id: u32) {
        if let Some(run) = running.tasks.remove(&(name.to_owned(), id)) {
            self.worker.stop_tasks(name, vec![run.handle]).await;
        }
        self.update_view(|v| {
            v.owned.remove(&Work::Task(name.to_owned(), id));
        });
    }

    fn task_status(&self, name: &str, id: u32, state: State) {
        self.worker.status.put_task(name, id, tributary_runtime::status::Status { state, worker_id: self.worker.worker_id.clone(), trace: None });
    }

    /// The JoinGroup metadata of every offered sub-protocol.
    async fn metadata(&self) -> Vec<(String, Vec<u8>)> {
        // Revoked work must have stopped before this worker says it no longer runs it.
        let mut stops = self.stops.subscribe();
        let wait = self.worker.config.task_shutdown_timeout + Duration::from_secs(2);
        if tokio::time::timeout(wait, stops.wait_for(|(requested, done)| done >= requested)).await.is_err() {
            tracing::warn!("revoked work did not stop in time; rejoining anyway");
        }
        if self.view().protocol == Some(Protocol::Eager) && !self.view().owned.is_empty() {
            // Eager (`default`): every member stops all its work before it rejoins, and the
            // leader hands everything out afresh (Kafka's onJoinPrepare).
            self.stops.send_modify(|(requested, _)| *requested += 1);
            self.update_view(|v| v.owned.clear());
            self.converge().await;
        }
        let view = self.view();
        let offset = self.config_log.offset();
        // As Kafka: a worker offers the protocols its setting allows, best first; the group
        // elects one all members offer (one `eager` worker makes the whole group eager).
        Protocol::offered(self.config.protocol)
            .iter()
            .map(|&p| {
                let current = (p != Protocol::Eager && !view.owned.is_empty()).then(|| Assignment {
                    version: p.version(),
                    error: NO_ERROR,
                    leader: view.leader_id.clone(),
                    leader_url: view.leader_url.clone().unwrap_or_default(),
                    config_offset: offset,
                    assigned: Some(assignor::from_work(&view.owned)),
                    revoked: Some(Vec::new()),
                    delay_ms: 0,
                });
                let meta = WorkerMetadata { version: p.version(), url: self.url.clone(), config_offset: offset, current_assignment: current };
                (p.name().to_owned(), meta.encode())
            })
            .collect()
    }

    /// Leader: computes every member's assignment.
    async fn assign(&self, input: LeaderInput) -> Vec<(String, Vec<u8>)> {
        // A fresh snapshot, as Kafka's leader takes one before assigning.
        if let Err(e) = self.config_log.read_to_end(self.config.worker_sync_timeout).await {
            tracing::warn!(error = %e, "leader could not read the config topic to its end before assigning");
        }
        let protocol = Protocol::from_name(&input.protocol).unwrap_or(Protocol::Compatible);
        let members: Vec<Member> = input
            .members
            .iter()
            .map(|(id, bytes)| {
                let metadata = WorkerMetadata::decode(bytes).unwrap_or_else(|e| {
                    tracing::error!(member = %id, error = %e, "unreadable member metadata; treating the member as running nothing");
                    WorkerMetadata { version: protocol.version(), url: String::new(), config_offset: -1, current_assignment: None }
                });
                Member { member_id: id.clone(), metadata }
            })
            .collect();
        let snapshot = self.config_log.with(|s| ClusterSnapshot { config_offset: s.offset, connectors: s.work() });
        for m in members.iter().filter(|m| m.metadata.config_offset > snapshot.config_offset) {
            // After reading to the end, a member that is further along reads another topic.
            tracing::error!(
                member = %m.metadata.url,
                member_offset = m.metadata.config_offset,
                leader_offset = snapshot.config_offset,
                topic = %self.config.config_topic.name,
                "a member reports a config offset beyond the end of this worker's config topic: the workers of group '{}' disagree on config.storage.topic (or on bootstrap.servers); fix the worker configurations",
                self.config.group_id
            );
        }
        let eager = protocol == Protocol::Eager;
        let result = if eager {
            assignor::assign_eager(&input.leader_id, &members, &snapshot)
        } else {
            self.assignor.lock().unwrap_or_else(|p| p.into_inner()).assign(
                &input.leader_id,
                protocol.version(),
                input.generation,
                &members,
                &snapshot,
                std::time::Instant::now(),
            )
        };
        // Remember who runs what, for forwarding restarts to owners.
        let mut owners = BTreeMap::new();
        for m in &members {
            let current = match eager {
                // Eager members hold nothing between rebalances.
                true => Default::default(),
                false => m.metadata.current_assignment.as_ref().and_then(|a| a.assigned.as_deref()).map(assignor::to_work).unwrap_or_default(),
            };
            let given = result.get(&m.member_id);
            let revoked = given.and_then(|a| a.revoked.as_deref()).map(assignor::to_work).unwrap_or_default();
            let assigned = given.and_then(|a| a.assigned.as_deref()).map(assignor::to_work).unwrap_or_default();
            for w in current.difference(&revoked).chain(assigned.iter()) {
                owners.insert(w.clone(), m.metadata.url.clone());
            }
        }
        *self.owners.lock().unwrap_or_else(|p| p.into_inner()) = owners;
        result.into_iter().map(|(member, a)| (member, a.encode())).collect()
    }
}

#[async_trait::async_trait]
impl GroupHooks for Hooks {
    async fn metadata(&self) -> Vec<(String, Vec<u8>)> {
        match self.0.upgrade() {
            Some(h) => h.metadata().await,
            None => Vec::new(),
        }
    }

    async fn assign(&self, input: LeaderInput) -> Vec<(String, Vec<u8>)> {
        match self.0.upgrade() {
            Some(h) => h.assign(input).await,
            None => Vec::new(),
        }
    }

    async fn on_event(&self, event: &GroupEvent) {
        if let Some(h) = self.0.upgrade() {
            h.record_event(event);
        }
    }
}

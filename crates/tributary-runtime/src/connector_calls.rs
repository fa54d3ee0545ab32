//! Calls into a connector's plugin code (`start`, `task_configs`, `stop`), shared by both
//! herders: each on a thread of its own under a timeout, so a plugin that blocks stalls
//! nothing else.

use crate::connector_config::{self, TASKS_MAX, TOPICS, TOPICS_REGEX};
use crate::error::RuntimeError;
use crate::status::State;
use crate::worker::Worker;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tributary_api::{ConfigMap, ConnectError, ConnectorContext, ConnectorType, OffsetStorageReader};

/// How long a connector's `start`, `task_configs` or `stop` may take before the runtime gives up
/// on it and marks it FAILED.
pub const CONNECTOR_CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs `work` (a connector's plugin calls) on a new thread; the receiver
/// resolves with its output. A call that blocks its thread then blocks nothing else, and a
/// timeout on the receiver always fires; on timeout the thread is abandoned with the instance.
fn on_own_thread<T, F, Fut>(name: String, work: F) -> tokio::sync::oneshot::Receiver<T>
where
    T: Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = T>,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    // The worker's runtime drives the call's timers and IO, and keeps whatever the connector
    // spawns alive after the call returns; only the polling happens on the new thread.
    let runtime = tokio::runtime::Handle::current();
    let spawned = std::thread::Builder::new().name(name).spawn(move || {
        let _ = tx.send(runtime.block_on(work()));
    });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start a thread for a connector call");
    }
    rx
}

/// What both herders do first with a config written through the REST API: `name` must match
/// the URL's (and is added when missing), then the config is validated off the async threads
/// (validation calls the connector's own synchronous `validate`) and bounded, so a plugin that
/// blocks cannot stall the worker.
pub async fn named_and_validated(
    worker: &Arc<Worker>,
    name: &str,
    mut config: ConfigMap,
) -> Result<(ConfigMap, crate::config_infos::ValidatedConnector), RuntimeError> {
    match config.get(connector_config::NAME) {
        Some(n) if n != name => {
            return Err(RuntimeError::BadRequest(format!("Connector name configuration ({n}) doesn't match connector name in the URL ({name})")));
        }
        Some(_) => {}
        None => {
            config.insert(connector_config::NAME.into(), name.into());
        }
    }
    let (w, to_check) = (worker.clone(), config.clone());
    let check = tokio::task::spawn_blocking(move || crate::config_infos::validate_connector_with_providers(&w.plugins, &w.providers, &to_check));
    let validated = match tokio::time::timeout(CONNECTOR_CALL_TIMEOUT, check).await {
        Ok(Ok(result)) => result?,
        Ok(Err(panic)) => return Err(RuntimeError::Other(format!("validation of connector {name} failed: {panic}"))),
        Err(_) => {
            return Err(RuntimeError::Other(format!("Request timed out: validation of connector {name} did not finish within {CONNECTOR_CALL_TIMEOUT:?}")))
        }
    };
    Ok((config, validated))
}

/// Connectors that asked for their task configs to be generated again
/// (`request_task_reconfiguration`), waiting for their herder. A set: repeated requests of one
/// connector merge, so it holds at most one entry per connector.
#[derive(Default)]
pub struct ReconfigurationRequests {
    names: Mutex<BTreeSet<String>>,
    wake: tokio::sync::Notify,
}

impl ReconfigurationRequests {
    fn request(&self, name: &str) {
        self.names.lock().unwrap_or_else(|p| p.into_inner()).insert(name.to_owned());
        self.wake.notify_one();
    }

    /// Waits for requests and takes them all. Cancel-safe.
    pub async fn next(&self) -> BTreeSet<String> {
        loop {
            let taken = std::mem::take(&mut *self.names.lock().unwrap_or_else(|p| p.into_inner()));
            if !taken.is_empty() {
                return taken;
            }
            self.wake.notified().await;
        }
    }
}

/// The [`ConnectorContext`] of one connector instance. It outlives the instance harmlessly:
/// once the instance is stopped, its calls do nothing.
struct WorkerConnectorContext {
    name: String,
    worker: Arc<Worker>,
    requests: Arc<ReconfigurationRequests>,
    offsets: Option<Arc<dyn OffsetStorageReader>>,
    stopped: AtomicBool,
}

impl ConnectorContext for WorkerConnectorContext {
    fn request_task_reconfiguration(&self) {
        if !self.stopped.load(Ordering::Acquire) {
            self.requests.request(&self.name);
        }
    }

    fn raise_error(&self, error: ConnectError) {
        if self.stopped.load(Ordering::Acquire) {
            return;
        }
        tracing::error!(connector = %self.name, error = %error, "connector raised an error; it is FAILED until restarted");
        self.worker.connector_status(&self.name, State::Failed, Some(error.trace()));
    }

    fn offset_storage_reader(&self) -> Option<Arc<dyn OffsetStorageReader>> {
        self.offsets.clone()
    }
}

/// A started connector: the plugin instance and the context it was initialized with.
pub struct ConnectorInstance {
    connector: ConnectorType,
    context: Arc<WorkerConnectorContext>,
}

impl ConnectorInstance {
    /// The plugin instance, to create tasks from.
    pub fn connector(&self) -> &ConnectorType {
        &self.connector
    }
}

/// Task configs as the framework stores them: `task.class`, `topics` and `topics.regex`
/// added as Kafka's Worker adds them, provider references put back as written.
fn with_framework_keys(worker: &Worker, config: &ConfigMap, configs: Vec<ConfigMap>, task_class: &str) -> Vec<ConfigMap> {
    configs
        .into_iter()
        .map(|mut tc| {
            tc.insert("task.class".into(), task_class.into());
            for key in [TOPICS, TOPICS_REGEX] {
                if let Some(v) = config.get(key) {
                    tc.insert(key.into(), v.clone());
                }
            }
            worker.providers.unresolve(config, &tc)
        })
        .collect()
}

fn max_tasks(config: &ConfigMap) -> usize {
    config.get(TASKS_MAX).and_then(|t| t.trim().parse().ok()).unwrap_or(1)
}

fn too_many_tasks(name: &str, generated: usize, max_tasks: usize) -> RuntimeError {
    RuntimeError::Other(format!(
        "The connector {name} has generated {generated} tasks, which is greater than {max_tasks}, the maximum number of tasks it is configured to create."
    ))
}

async fn task_configs_of(connector: &mut ConnectorType, max_tasks: usize) -> tributary_api::Result<(Vec<ConfigMap>, &'static str)> {
    match connector {
        ConnectorType::Source(c) => c.task_configs(max_tasks).await.map(|t| (t, c.task_class())),
        ConnectorType::Sink(c) => c.task_configs(max_tasks).await.map(|t| (t, c.task_class())),
    }
}

/// Stops a connector instance, logging (never failing) when it errs or does not stop in time.
pub async fn stop_instance(name: &str, instance: ConnectorInstance) {
    let ConnectorInstance { connector: mut instance, context } = instance;
    context.stopped.store(true, Ordering::Release);
    let done = on_own_thread(format!("connector-{name}"), move || async move {
        match &mut instance {
            ConnectorType::Source(c) => c.stop().await,
            ConnectorType::Sink(c) => c.stop().await,
        }
    });
    match tokio::time::timeout(CONNECTOR_CALL_TIMEOUT, done).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => tracing::warn!(connector = name, error = %e, "error stopping connector"),
        Ok(Err(_)) => tracing::error!(connector = name, "connector stop panicked"),
        Err(_) => tracing::error!(connector = name, "connector did not stop in time; abandoning it"),
    }
}

/// Starts a connector instance with `config` (stored form: providers are resolved here) and
/// asks it for task configs, with the framework's additions. Reconfiguration requests it makes
/// later go to `requests`.
pub async fn start_instance(
    worker: &Arc<Worker>,
    name: &str,
    config: &ConfigMap,
    requests: &Arc<ReconfigurationRequests>,
) -> Result<(ConnectorInstance, Vec<ConfigMap>), RuntimeError> {
    let class = config.get(connector_config::CONNECTOR_CLASS).cloned().unwrap_or_default();
    let mut connector = worker.plugins.new_connector(&class)?;
    let max_tasks = max_tasks(config);
    let offsets = matches!(connector, ConnectorType::Source(_)).then(|| worker.offset_reader(name));
    let context = Arc::new(WorkerConnectorContext {
        name: name.to_owned(),
        worker: worker.clone(),
        requests: requests.clone(),
        offsets,
        stopped: AtomicBool::new(false),
    });
    let handed: Arc<dyn ConnectorContext> = context.clone();
    // The connector sees resolved secrets; what is stored and reported keeps the references.
    let resolved = worker.providers.resolve(config);
    let done = on_own_thread(format!("connector-{name}"), move || async move {
        match &mut connector {
            ConnectorType::Source(c) => c.initialize(handed),
            ConnectorType::Sink(c) => c.initialize(handed),
        }
        let started = match &mut connector {
            ConnectorType::Source(c) => c.start(resolved).await,
            ConnectorType::Sink(c) => c.start(resolved).await,
        };
        let result = match started {
            Ok(()) => task_configs_of(&mut connector, max_tasks).await,
            Err(e) => Err(e),
        };
        (connector, result)
    });
    // A connector that failed, panicked or was abandoned on a timeout (its thread may still
    // run) is switched off: its later context calls do nothing.
    let switched_off = |e: RuntimeError| {
        context.stopped.store(true, Ordering::Release);
        Err(e)
    };
    let (connector, result) = match tokio::time::timeout(CONNECTOR_CALL_TIMEOUT, done).await {
        Ok(Ok(out)) => out,
        Ok(Err(_)) => return switched_off(RuntimeError::Other(format!("connector {name} panicked in start"))),
        Err(_) => {
            return switched_off(RuntimeError::Other(format!("connector {name} did not finish start and task_configs within {CONNECTOR_CALL_TIMEOUT:?}")))
        }
    };
    let (configs, task_class) = match result {
        Ok(out) => out,
        Err(e) => return switched_off(e.into()),
    };
    let instance = ConnectorInstance { connector, context };
    if configs.len() > max_tasks {
        stop_instance(name, instance).await;
        return Err(too_many_tasks(name, configs.len(), max_tasks));
    }
    Ok((instance, with_framework_keys(worker, config, configs, task_class)))
}

/// Asks a running instance for its task configs again (after `request_task_reconfiguration`).
/// On success the instance comes back with the configs; on a timeout or panic it is
/// abandoned (`None`), and the caller marks the connector FAILED.
pub async fn regenerate_task_configs(
    worker: &Worker,
    name: &str,
    config: &ConfigMap,
    instance: ConnectorInstance,
) -> (Option<ConnectorInstance>, Result<Vec<ConfigMap>, RuntimeError>) {
    let max_tasks = max_tasks(config);
    let ConnectorInstance { connector: mut plugin, context } = instance;
    let done = on_own_thread(format!("connector-{name}"), move || async move {
        let result = task_configs_of(&mut plugin, max_tasks).await;
        (plugin, result)
    });
    let (plugin, result) = match tokio::time::timeout(CONNECTOR_CALL_TIMEOUT, done).await {
        Ok(Ok(out)) => out,
        Ok(Err(_)) => {
            context.stopped.store(true, Ordering::Release);
            return (None, Err(RuntimeError::Other(format!("connector {name} panicked in task_configs"))));
        }
        Err(_) => {
            context.stopped.store(true, Ordering::Release);
            return (None, Err(RuntimeError::Other(format!("connector {name} did not finish task_configs within {CONNECTOR_CALL_TIMEOUT:?}"))));
        }
    };
    let instance = ConnectorInstance { connector: plugin, context };
    let result = match result {
        Ok((configs, _)) if configs.len() > max_tasks => Err(too_many_tasks(name, configs.len(), max_tasks)),
        Ok((configs, task_class)) => Ok(with_framework_keys(worker, config, configs, task_class)),
        Err(e) => Err(e.into()),
    };
    (Some(instance), result)
}

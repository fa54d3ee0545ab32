//! Calls into a connector's plugin code (`start`, `task_configs`, `stop`), shared by both
//! herders: each on a thread of its own under a timeout, so a plugin that blocks stalls
//! nothing else.

use crate::connector_config::{self, TASKS_MAX, TOPICS, TOPICS_REGEX};
use crate::error::RuntimeError;
use crate::worker::Worker;
use std::time::Duration;
use tributary_api::{ConfigMap, ConnectorType};

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

/// Stops a connector instance, logging (never failing) when it errs or does not stop in time.
pub async fn stop_instance(name: &str, mut instance: ConnectorType) {
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
/// asks it for task configs, with the framework's additions (`task.class`, `topics`,
/// `topics.regex`) and provider references put back as written.
pub async fn start_instance(worker: &Worker, name: &str, config: &ConfigMap) -> Result<(ConnectorType, Vec<ConfigMap>), RuntimeError> {
    let class = config.get(connector_config::CONNECTOR_CLASS).cloned().unwrap_or_default();
    let mut instance = worker.plugins.new_connector(&class)?;
    let max_tasks: usize = config.get(TASKS_MAX).and_then(|t| t.trim().parse().ok()).unwrap_or(1);
    let timed = |what: &str| RuntimeError::Other(format!("connector {name} did not finish {what} within {CONNECTOR_CALL_TIMEOUT:?}"));
    // The connector sees resolved secrets; what is stored and reported keeps the references.
    let resolved = worker.providers.resolve(config);
    let done = on_own_thread(format!("connector-{name}"), move || async move {
        let result = match &mut instance {
            ConnectorType::Source(c) => match c.start(resolved).await {
                Ok(()) => c.task_configs(max_tasks).await.map(|t| (t, c.task_class())),
                Err(e) => Err(e),
            },
            ConnectorType::Sink(c) => match c.start(resolved).await {
                Ok(()) => c.task_configs(max_tasks).await.map(|t| (t, c.task_class())),
                Err(e) => Err(e),
            },
        };
        (instance, result)
    });
    let (instance, result) = match tokio::time::timeout(CONNECTOR_CALL_TIMEOUT, done).await {
        Ok(Ok(out)) => out,
        Ok(Err(_)) => return Err(RuntimeError::Other(format!("connector {name} panicked in start"))),
        Err(_) => return Err(timed("start and task_configs")),
    };
    let (configs, task_class) = result?;
    if configs.len() > max_tasks {
        stop_instance(name, instance).await;
        return Err(RuntimeError::Other(format!(
            "The connector {name} has generated {} tasks, which is greater than {max_tasks}, the maximum number of tasks it is configured to create.",
            configs.len()
        )));
    }
    // The framework's additions to every task config, as Kafka's Worker makes them.
    let configs = configs
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
        .collect();
    Ok((instance, configs))
}

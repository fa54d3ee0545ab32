//! `tributary distributed`: one worker of a cluster, as `connect-distributed` takes its file.
//! Validates the file, creates or checks the internal topics, reads them, then joins the
//! group and serves the REST API.

use std::process::ExitCode;
use std::sync::Arc;
use tributary_distributed::distributed_config::DistributedConfig;
use tributary_distributed::herder::DistributedHerder;
use tributary_distributed::internal_topics;
use tributary_distributed::offset_log::KafkaOffsetStore;
use tributary_runtime::config_providers::ConfigProviders;
use tributary_runtime::offset_store::OffsetCodec;
use tributary_runtime::plugins::Plugins;
use tributary_runtime::properties;
use tributary_runtime::status::StatusStore;
use tributary_runtime::worker::Worker;
use tributary_runtime::worker_config::WorkerConfig;

fn fail(message: impl std::fmt::Display) -> ExitCode {
    tracing::error!("{message}");
    eprintln!("error: {message}");
    ExitCode::from(1)
}

pub async fn run(worker_file: &str, plugins: Plugins, loggers: Arc<crate::logging::Loggers>) -> ExitCode {
    let started = std::time::Instant::now();
    let text = match std::fs::read_to_string(worker_file) {
        Ok(t) => t,
        Err(e) => return fail(format!("Cannot read worker configuration file '{worker_file}': {e}")),
    };
    let props = match properties::parse(&text) {
        Ok(p) => p,
        Err(e) => return fail(format!("Worker configuration file '{worker_file}': {e}")),
    };
    let config = match WorkerConfig::parse(props) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let cluster = match DistributedConfig::parse(&config) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    if config.bootstrap_servers.is_none() {
        return fail(
            "Invalid worker configuration: distributed mode needs a Kafka cluster: set bootstrap.servers (the embedded broker is for standalone mode)",
        );
    }
    let providers = match ConfigProviders::from_worker_config(config.originals()) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    // As Kafka's WorkerConfig: `${provider:...}` references in the worker file itself are
    // resolved with its own providers.
    let config = if config.originals().values().any(|v| providers.has_reference(v)) {
        match WorkerConfig::parse(providers.resolve(config.originals())) {
            Ok(c) => c,
            Err(e) => return fail(e),
        }
    } else {
        config
    };
    let rest_config = match tributary_rest::RestServerConfig::from_worker_config(config.originals()) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let rest_server = match tributary_rest::RestServer::bind(rest_config).await {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let admin_security = match tributary_runtime::kafka::check_client_security(&config) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let admin = match tributary_runtime::kafka::admin_client(&config, "connect-cluster-adminclient") {
        Ok(a) => Arc::new(a),
        Err(e) => return fail(e),
    };
    let cluster_id = match tributary_runtime::kafka::cluster_id(&config, &admin_security).await {
        Ok(id) => id,
        Err(e) => return fail(e),
    };
    for topic in [&cluster.config_topic, &cluster.offset_topic, &cluster.status_topic] {
        if let Err(e) = internal_topics::ensure(&admin, topic).await {
            return fail(e);
        }
    }
    let offsets = match KafkaOffsetStore::start(&config, &cluster.offset_topic.name, &format!("{}-offsets", cluster.group_id)).await {
        Ok(s) => Arc::new(s),
        Err(e) => return fail(e),
    };
    let codec = match OffsetCodec::new() {
        Ok(c) => Arc::new(c),
        Err(e) => return fail(e),
    };
    let worker_id = config.worker_id();
    let url = format!("{}://{worker_id}/", cluster.advertised_listener.as_deref().unwrap_or("http"));
    let rest_addrs = rest_server.local_addrs();
    let plugins = plugins.with_client_override_policy(config.client_override_policy);
    let worker = Arc::new(Worker {
        config,
        plugins,
        providers,
        worker_id,
        offset_store: offsets.clone(),
        codec,
        status: Arc::new(StatusStore::default()),
        admin: std::sync::Mutex::new(Some(admin)),
        task_events: Arc::new(tributary_runtime::task_events::NoTaskEvents),
    });
    let group = cluster.group_id.clone();
    let (herder, looped) = match DistributedHerder::start(worker, offsets, cluster_id.clone(), cluster, url.clone(), Some(loggers)).await {
        Ok(h) => h,
        Err(e) => return fail(e),
    };
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let rest = tokio::spawn(rest_server.serve(herder.clone(), async move {
        let _ = stop_rx.await;
    }));
    tracing::info!(rest = ?rest_addrs, url = %url, group = %group, kafka_cluster_id = %cluster_id, startup_ms = started.elapsed().as_millis() as u64, "Tributary distributed worker started");

    crate::standalone::wait_for_signal().await;
    tracing::info!("stopping: tasks are stopped, their offsets flushed, and the group left");
    herder.shutdown();
    let _ = looped.await;
    let _ = stop_tx.send(());
    let _ = rest.await;
    tracing::info!("Tributary worker stopped");
    ExitCode::SUCCESS
}

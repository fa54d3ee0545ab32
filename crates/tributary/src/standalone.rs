//! `tributary standalone`: validate everything first (so a bad file writes nothing), then start
//! the broker (embedded if asked), the worker, the REST API and the connectors.

use crate::connector_files;
use std::process::ExitCode;
use std::sync::Arc;
use tributary_runtime::config_providers::ConfigProviders;
use tributary_runtime::herder::Herder;
use tributary_runtime::offset_store::{FileOffsetStore, OffsetCodec};
use tributary_runtime::plugins::Plugins;
use tributary_runtime::properties;
use tributary_runtime::standalone::StandaloneHerder;
use tributary_runtime::status::StatusStore;
use tributary_runtime::worker::Worker;
use tributary_runtime::worker_config::{WorkerConfig, OFFSET_STORAGE_FILE};

fn fail(code: u8, message: impl std::fmt::Display) -> ExitCode {
    tracing::error!("{message}");
    eprintln!("error: {message}");
    ExitCode::from(code)
}

pub async fn run(worker_file: &str, connector_files: &[String], plugins: Plugins, loggers: Arc<crate::logging::Loggers>) -> ExitCode {
    let started = std::time::Instant::now();
    let text = match std::fs::read_to_string(worker_file) {
        Ok(t) => t,
        Err(e) => return fail(1, format!("Cannot read worker configuration file '{worker_file}': {e}")),
    };
    let props = match properties::parse(&text) {
        Ok(p) => p,
        Err(e) => return fail(1, format!("Worker configuration file '{worker_file}': {e}")),
    };
    let config = match WorkerConfig::parse(props) {
        Ok(c) => c,
        Err(e) => return fail(1, e),
    };
    let Some(offsets_file) = config.offset_storage_file.clone() else {
        return fail(1, format!("Invalid worker configuration: Missing required configuration \"{OFFSET_STORAGE_FILE}\" which has no default value."));
    };
    let plugins = plugins.with_client_override_policy(config.client_override_policy);
    let providers = match ConfigProviders::from_worker_config(config.originals()) {
        Ok(p) => p,
        Err(e) => return fail(1, e),
    };
    // As Kafka's WorkerConfig: `${provider:...}` references in the worker file itself (a
    // sasl.jaas.config password, a keystore password) are resolved with its own providers.
    let mut config = if config.originals().values().any(|v| providers.has_reference(v)) {
        match WorkerConfig::parse(providers.resolve(config.originals())) {
            Ok(c) => c,
            Err(e) => return fail(1, e),
        }
    } else {
        config
    };
    // Every connector file is read and validated before anything starts.
    let mut connectors = Vec::new();
    for path in connector_files {
        let file = match connector_files::load(path) {
            Ok(f) => f,
            Err(e) => return fail(1, e),
        };
        if let Err(e) = tributary_runtime::config_infos::validate_connector_with_providers(&plugins, &providers, &file.config) {
            return fail(1, format!("Connector configuration at '{path}' is invalid: {e}"));
        }
        connectors.push(file);
    }
    let rest_config = match tributary_rest::RestServerConfig::from_worker_config(config.originals()) {
        Ok(c) => c,
        Err(e) => return fail(1, e),
    };
    let rest_server = match tributary_rest::RestServer::bind(rest_config).await {
        Ok(s) => s,
        Err(e) => return fail(1, e),
    };

    #[cfg(feature = "embedded-broker")]
    let _broker = if config.bootstrap_servers.is_none() {
        match tributary_embedded_broker::EmbeddedBroker::start(std::path::Path::new(&config.embedded_data_dir), &config.embedded_listener).await {
            Ok(b) => {
                config.set_bootstrap_servers(b.bootstrap_servers().to_owned());
                Some(b)
            }
            Err(e) => return fail(1, e),
        }
    } else {
        None
    };
    #[cfg(not(feature = "embedded-broker"))]
    if config.bootstrap_servers.is_none() {
        return fail(1, "this build has no embedded broker: set bootstrap.servers");
    }

    let admin_security = match tributary_runtime::kafka::check_client_security(&config) {
        Ok(s) => s,
        Err(e) => return fail(1, e),
    };
    let admin = match tributary_runtime::kafka::admin_client(&config, "connector-adminclient") {
        Ok(a) => Arc::new(a),
        Err(e) => return fail(1, e),
    };
    let cluster_id = match tributary_runtime::kafka::cluster_id(&config, &admin_security).await {
        Ok(id) => id,
        Err(e) => return fail(1, e),
    };
    let offset_store = match FileOffsetStore::open(&offsets_file) {
        Ok(s) => Arc::new(s),
        Err(e) => return fail(1, e),
    };
    let codec = match OffsetCodec::new() {
        Ok(c) => Arc::new(c),
        Err(e) => return fail(1, e),
    };
    let worker_id = config.worker_id();
    let rest_addrs = rest_server.local_addrs();
    let worker = Arc::new(Worker {
        config,
        plugins,
        providers,
        worker_id,
        offset_store,
        codec,
        status: Arc::new(StatusStore::default()),
        admin: std::sync::Mutex::new(Some(admin)),
        task_events: Arc::new(tributary_runtime::task_events::NoTaskEvents),
    });
    let herder = Arc::new(StandaloneHerder::new(worker, cluster_id.clone()).with_logger_control(loggers));
    let _supervisor = herder.spawn_supervisor();

    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let rest = tokio::spawn(rest_server.serve(herder.clone(), async move {
        let _ = stop_rx.await;
    }));
    tracing::info!(rest = ?rest_addrs, kafka_cluster_id = %cluster_id, startup_ms = started.elapsed().as_millis() as u64, "Tributary worker started");

    for file in connectors {
        if let Err(e) = herder.put_connector_config(&file.name, file.config, false, file.initial_state).await {
            herder.stop().await;
            return fail(3, format!("Failed to create connector {}: {e}", file.name));
        }
        tracing::info!(connector = %file.name, "created connector");
    }
    herder.set_ready();

    wait_for_signal().await;
    tracing::info!("stopping: tasks are stopped and their offsets flushed");
    herder.stop().await;
    let _ = stop_tx.send(());
    let _ = rest.await;
    tracing::info!("Tributary worker stopped");
    ExitCode::SUCCESS
}

pub(crate) async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) {
        (Ok(mut int), Ok(mut term)) => {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

//! The embedded default: a Kafka-protocol broker (tansu) with sqlite storage, run inside the
//! worker process when `bootstrap.servers` is absent or `embedded`. One command then gives a
//! working worker with no Kafka installed; the data survives restarts in the data directory.

use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;
use tokio::task::JoinHandle;
use url::Url;

/// The cluster id of the embedded broker. Fixed, because tansu keys its storage by cluster id:
/// a new id on each start would hide the data of earlier runs.
pub const CLUSTER_ID: &str = "tributary-embedded";

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedBrokerError {
    #[error("invalid embedded broker listener {0:?}: expected host:port")]
    Listener(String),
    #[error("cannot create the embedded broker's data directory {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
    #[error("the embedded broker failed to start: {0}")]
    Start(String),
    #[error("the embedded broker did not accept connections on {0} within 30 s (is the port in use?)")]
    NotListening(SocketAddr),
}

/// A running embedded broker. Dropping it leaves the broker running until the process exits;
/// call [`EmbeddedBroker::shutdown`] to stop it.
pub struct EmbeddedBroker {
    bootstrap: String,
    task: JoinHandle<()>,
}

impl EmbeddedBroker {
    /// Starts the broker, listening on `listener` (`host:port`), storing data under `data_dir`,
    /// and returns once it accepts connections.
    pub async fn start(data_dir: &Path, listener: &str) -> Result<Self, EmbeddedBrokerError> {
        let addr: SocketAddr = listener.replace("localhost", "127.0.0.1").parse().map_err(|_| EmbeddedBrokerError::Listener(listener.to_owned()))?;
        std::fs::create_dir_all(data_dir).map_err(|source| EmbeddedBrokerError::DataDir { path: data_dir.display().to_string(), source })?;
        let storage = storage_url(data_dir)?;
        let listen = Url::parse(&format!("tcp://{addr}")).map_err(|_| EmbeddedBrokerError::Listener(listener.to_owned()))?;
        let broker = tansu_broker::broker::Broker::<
            tansu_broker::coordinator::group::administrator::Controller<tansu_storage::StorageContainer>,
            tansu_storage::StorageContainer,
        >::builder()
        .node_id(1)
        .cluster_id(CLUSTER_ID)
        .incarnation_id(uuid::Uuid::new_v4())
        .advertised_listener(listen.clone())
        .storage(storage)
        .listener(listen)
        .silent(true)
        .build()
        .await
        .map_err(|e| EmbeddedBrokerError::Start(format!("{e:?}")))?;
        let task = tokio::spawn(async move {
            let mut broker = broker;
            if let Err(e) = broker.serve(tokio::time::Instant::now()).await {
                tracing::error!(error = ?e, "the embedded broker stopped");
            }
        });
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while tokio::net::TcpStream::connect(addr).await.is_err() {
            if task.is_finished() || tokio::time::Instant::now() > deadline {
                task.abort();
                return Err(EmbeddedBrokerError::NotListening(addr));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tracing::info!(listener = %addr, data_dir = %data_dir.display(), "embedded broker (tansu, sqlite storage) is listening");
        Ok(Self { bootstrap: addr.to_string(), task })
    }

    /// `host:port` for `bootstrap.servers`.
    pub fn bootstrap_servers(&self) -> &str {
        &self.bootstrap
    }

    /// Stops the broker. Committed data is already durable in sqlite.
    pub fn shutdown(self) {
        self.task.abort();
    }
}

/// tansu resolves `sqlite://` paths against the working directory, so the URL must hold a
/// relative path; an absolute data directory is rewritten relative to the working directory.
fn storage_url(data_dir: &Path) -> Result<Url, EmbeddedBrokerError> {
    let relative = if data_dir.is_absolute() {
        let cwd = std::env::current_dir().map_err(|source| EmbeddedBrokerError::DataDir { path: data_dir.display().to_string(), source })?;
        relative_to(data_dir, &cwd)
    } else {
        data_dir.to_path_buf()
    };
    let db = relative.join("broker.db");
    let text = format!("sqlite://./{}", db.display());
    Url::parse(&text).map_err(|e| EmbeddedBrokerError::Start(format!("bad storage URL {text}: {e}")))
}

fn relative_to(path: &Path, base: &Path) -> PathBuf {
    let p: Vec<Component> = path.components().collect();
    let b: Vec<Component> = base.components().collect();
    let common = p.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out = PathBuf::new();
    for _ in common..b.len() {
        out.push("..");
    }
    for c in &p[common..] {
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_paths_become_relative_to_the_working_directory() {
        assert_eq!(relative_to(Path::new("/a/b/data"), Path::new("/a/c")), PathBuf::from("../b/data"));
        assert_eq!(relative_to(Path::new("/a/b"), Path::new("/a/b")), PathBuf::new());
        let url = storage_url(Path::new("data")).unwrap();
        assert_eq!(url.as_str(), "sqlite://./data/broker.db");
    }
}

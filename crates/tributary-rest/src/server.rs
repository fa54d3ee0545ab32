//! Binding and serving the listeners of a [`RestServerConfig`]: plain or TLS, regular or admin.

use crate::rest_config::{AdminListeners, ListenerConfig, RestServerConfig};
use crate::{app, AppState, Routes};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// A TLS handshake that has not finished in this long is dropped, so a silent client cannot hold
/// a connection slot.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshakes in progress at once per listener, and finished connections waiting for the server.
const MAX_HANDSHAKES: usize = 256;
const ACCEPTED_QUEUE: usize = 64;

/// A listener failed to bind; the message names it.
#[derive(Debug, thiserror::Error)]
#[error("Cannot listen for REST requests on {url}: {source}")]
pub struct BindError {
    pub url: String,
    #[source]
    pub source: std::io::Error,
}

struct Bound {
    url: String,
    tcp: TcpListener,
    tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    routes: Routes,
}

/// Every listener bound (so a taken port fails the worker before anything starts), not yet serving.
pub struct RestServer {
    bound: Vec<Bound>,
    config: RestServerConfig,
}

impl RestServer {
    pub async fn bind(config: RestServerConfig) -> Result<Self, BindError> {
        let mut bound = Vec::new();
        let regular_routes = Routes { regular: true, admin: matches!(config.admin, AdminListeners::Regular) };
        for l in &config.listeners {
            bound.push(bind_one(l, regular_routes).await?);
        }
        if let AdminListeners::Separate(admin) = &config.admin {
            for l in admin {
                bound.push(bind_one(l, Routes { regular: false, admin: true }).await?);
            }
        }
        Ok(Self { bound, config })
    }

    /// The bound addresses, listeners first and admin listeners after (port 0 resolved).
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.bound.iter().filter_map(|b| b.tcp.local_addr().ok()).collect()
    }

    /// Serves every listener until `shutdown` resolves.
    pub async fn serve(self, herder: AppState, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        });
        let mut servers = tokio::task::JoinSet::new();
        for b in self.bound {
            let router = app(herder.clone(), b.routes, self.config.basic_auth.clone(), self.config.request_timeout);
            let mut stop = stop_rx.clone();
            let stopped = async move {
                let _ = stop.wait_for(|s| *s).await;
            };
            tracing::info!(listener = %b.url, regular = b.routes.regular, admin = b.routes.admin, "REST listener started");
            match b.tls {
                None => {
                    servers.spawn(async move { axum::serve(b.tcp, router).with_graceful_shutdown(stopped).await });
                }
                Some(tls) => {
                    let (listener, acceptor) = TlsListener::start(b.tcp, TlsAcceptor::from(tls))?;
                    servers.spawn(async move {
                        let r = axum::serve(listener, router).with_graceful_shutdown(stopped).await;
                        acceptor.abort();
                        r
                    });
                }
            }
        }
        let mut result = Ok(());
        while let Some(r) = servers.join_next().await {
            match r {
                Ok(Err(e)) => result = Err(e),
                Err(e) => result = Err(std::io::Error::other(e)),
                Ok(Ok(())) => {}
            }
        }
        result
    }
}

async fn bind_one(l: &ListenerConfig, routes: Routes) -> Result<Bound, BindError> {
    let tcp = TcpListener::bind(l.addr).await.map_err(|source| BindError { url: l.url.clone(), source })?;
    Ok(Bound { url: l.url.clone(), tcp, tls: l.tls.clone(), routes })
}

/// Hands axum connections whose TLS handshake has finished. Handshakes run on their own tasks,
/// so one slow client never delays the accept loop.
struct TlsListener {
    ready: tokio::sync::mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    fn start(tcp: TcpListener, acceptor: TlsAcceptor) -> std::io::Result<(Self, tokio::task::JoinHandle<()>)> {
        let local = tcp.local_addr()?;
        let (tx, ready) = tokio::sync::mpsc::channel(ACCEPTED_QUEUE);
        let permits = Arc::new(tokio::sync::Semaphore::new(MAX_HANDSHAKES));
        let task = tokio::spawn(async move {
            loop {
                let Ok(permit) = permits.clone().acquire_owned().await else { return };
                let (stream, peer) = match tcp.accept().await {
                    Ok(s) => s,
                    Err(e) => {
                        // Out of file descriptors and the like: back off rather than spin.
                        tracing::warn!(error = %e, "REST accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let acceptor = acceptor.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    let _permit = permit;
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = tx.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok((Self { ready, local }, task))
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(conn) => conn,
            // The accept task is gone only when the server is shutting down.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

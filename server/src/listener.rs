//! The accept loop: each TCP connection (after a TLS handshake, when TLS is on) is served by
//! hyper's HTTP/1.1 connection with a header read time-out (a slowloris client that never finishes its request is closed), under a cap
//! on open connections, with back-off on accept errors and graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// After an accept error (out of file descriptors, say), wait this long before trying again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// On shutdown, how long an HTTP connection may take to finish its response.
const DRAIN: Duration = Duration::from_secs(3);

/// Serves `router` on `listener` until `cancel` fires. `max_open` caps TCP connections that are
/// not yet upgraded (upgraded game sockets are capped by the session semaphore).
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    header_timeout: Duration,
    max_open: usize,
    tls: Option<TlsAcceptor>,
    cancel: CancellationToken,
    tracker: TaskTracker,
) {
    let open = Arc::new(Semaphore::new(max_open));
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    tracing::warn!(%err, "accept failed; backing off");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = cancel.cancelled() => return,
        };
        let Ok(permit) = open.clone().try_acquire_owned() else {
            tracing::debug!(%peer, "too many open connections: dropped at accept");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let cancel = cancel.clone();
        let tls = tls.clone();
        tracker.spawn(async move {
            let _permit = permit;
            match tls {
                None => serve_connection(stream, peer, router, header_timeout, cancel).await,
                // The TLS handshake gets the same time limit as the request headers.
                Some(acceptor) => {
                    match tokio::time::timeout(header_timeout, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => {
                            serve_connection(stream, peer, router, header_timeout, cancel).await
                        }
                        Ok(Err(err)) => tracing::debug!(%peer, %err, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                }
            }
        });
    }
}

async fn serve_connection<Io>(
    stream: Io,
    peer: SocketAddr,
    router: Router,
    header_timeout: Duration,
    cancel: CancellationToken,
) where
    Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        router.clone().oneshot(request)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(header_timeout).keep_alive(true);
    let connection = builder.serve_connection(TokioIo::new(stream), service).with_upgrades();
    tokio::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(err) = result {
                tracing::debug!(%peer, %err, "HTTP connection ended with an error");
            }
        }
        () = cancel.cancelled() => {
            connection.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(DRAIN, connection).await;
        }
    }
}

//! `skirmish-server`: serves the built client at `/`, the game at `/ws` and `/healthz`.
//!
//! Run from the repository root after building the client (`cargo xtask run` does both):
//!
//! ```text
//! cargo run --release -p server -- --bind 127.0.0.1:7777 --tick-hz 30
//! ```
//!
//! Every flag also reads a `SKIRMISH_*` environment variable; `--help` lists them.
//! Logs go to stderr, filtered by `RUST_LOG` (default `info`).

use anyhow::Context;
use clap::Parser;
use server::ServerConfig;
use tracing_subscriber::EnvFilter;

/// mimalloc: many small, short-lived frames per tick (see the workspace manifest), counted so
/// that `/metrics` can show the live heap (`skirmish_heap_live_bytes`).
#[global_allocator]
static ALLOCATOR: heap::Counting<mimalloc::MiMalloc> = heap::Counting(mimalloc::MiMalloc);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = ServerConfig::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();

    let listener = server::bind(config.bind, server::backlog_for(config.max_connections))?;
    let addr = listener.local_addr().context("reading the bound address")?;
    let host =
        if addr.ip().is_unspecified() { "localhost".to_string() } else { addr.ip().to_string() };
    let host =
        if addr.is_ipv6() && !addr.ip().is_unspecified() { format!("[{host}]") } else { host };
    if !config.static_dir.join("index.html").is_file() {
        tracing::warn!(dir = %config.static_dir.display(), "no built client found: run `cargo xtask run` to build it");
    }
    tracing::info!(%addr, tick_hz = config.tick_hz, map = %config.map.display(), "listening");
    let scheme = if config.tls_cert.is_some() { "https" } else { "http" };
    println!(
        "Skirmish is running: open {scheme}://{host}:{}/ in your browser (Ctrl-C to stop)",
        addr.port()
    );

    // The first Ctrl-C or SIGTERM drains (rooms play on for `--drain-secs` or until empty);
    // a second one ends the drain at once.
    let (first, second) = (tokio::sync::oneshot::channel(), tokio::sync::oneshot::channel());
    let (drain_tx, drain_rx) = first;
    let (stop_tx, stop_rx) = second;
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = drain_tx.send(());
        shutdown_signal().await;
        let _ = stop_tx.send(());
    });
    let drain = async move {
        let _ = drain_rx.await;
    };
    let stop = async move {
        let _ = stop_rx.await;
    };
    server::run_with(listener, config, drain, stop).await
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(%err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(%err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

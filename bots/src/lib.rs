//! Headless Skirmish players that speak the real protocol over real sockets.
//!
//! Used by the server's integration tests and by the `bots` load generator.
//!
//! # Layout
//! - [`client`]: one connection: `Hello`/`Welcome`, inputs with redundancy, reading frames.
//! - [`behavior`]: the pure choice of a bot's next input (wander, chase, idle, chatty).
//! - [`stats`]: input-latency tracking, percentiles, the JSON report.
//! - [`http`]: `POST /api/session` and `GET /metrics` over a plain socket.
//! - [`tls`]: TLS client settings for `wss://` (web roots plus trusted extra roots).
//! - [`refusal`]: which server limit refused a connection, and the flag that raises it.
//! - [`scrape`]: the server's own figures from `/metrics`.
//! - [`spectator`]: one spectating connection: a moving camera, every snapshot decoded.
//! - [`run`]: many bots at once: ramp, churn, reconnect storm, progress line, report.

// Tests may run long scripts; the 80-line bound is for the code they test.
#![cfg_attr(test, allow(clippy::too_many_lines))]

pub mod behavior;
pub mod client;
pub mod http;
pub mod lobby;
pub mod refusal;
pub mod run;
pub mod scrape;
pub mod spectator;
pub mod stats;
pub mod tls;

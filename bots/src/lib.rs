//! Headless Skirmish players that speak the real protocol over real sockets.
//!
//! Used by the server's integration tests and by the `bots` command.
//!
//! # Layout
//! - [`client`]: one connection: `Hello`/`Welcome`, inputs with redundancy, reading frames.

pub mod client;

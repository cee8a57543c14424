//! Integration tests against a real server on 127.0.0.1 with real WebSocket clients.
//! Every test binds port 0, bounds its waits, and shuts its server down.

// Scripted scenarios run long; the 80-line bound is for the code they test.
#![allow(clippy::too_many_lines)]

mod abuse;
mod attacks;
mod cluster;
mod conditioner;
mod game;
mod harness;
mod http;
mod listen;
mod load;
mod lobby;
mod netcode;
mod refusal;
mod replays;
mod resume;
mod soak;
mod spectate;
mod tls;

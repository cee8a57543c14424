//! Integration tests against a real server on 127.0.0.1 with real WebSocket clients.
//! Every test binds port 0, bounds its waits, and shuts its server down.

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
mod tls;

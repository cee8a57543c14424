//! The listening socket: its accept backlog follows the connection cap, so a burst of
//! connections is queued by the kernel instead of having SYNs dropped (and retried a second
//! later) while the server is busy.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

#[test]
fn the_backlog_follows_the_connection_cap() {
    assert_eq!(server::backlog_for(4096), 4096, "the default cap");
    assert_eq!(server::backlog_for(1_000_000), server::MAX_BACKLOG, "clamped above");
    assert_eq!(server::backlog_for(2), server::MIN_BACKLOG, "never below the usual default");
}

#[tokio::test]
async fn a_burst_of_connections_waits_in_the_backlog() {
    const BURST: usize = 1000;
    let listener = server::bind(SocketAddr::from(([127, 0, 0, 1], 0)), server::backlog_for(BURST))
        .expect("binding with a large backlog");
    let addr = listener.local_addr().expect("local address");
    // Nothing accepts: every connection must complete its handshake into the accept queue.
    let started = Instant::now();
    let connects = (0..BURST).map(|_| {
        tokio::time::timeout(Duration::from_millis(900), tokio::net::TcpStream::connect(addr))
    });
    let results = futures_util::future::join_all(connects).await;
    let completed = results.iter().filter(|r| matches!(r, Ok(Ok(_)))).count();
    eprintln!("{completed} of {BURST} connections queued in {:?}", started.elapsed());
    assert_eq!(completed, BURST, "no SYN was dropped for a full queue (a 128 backlog drops them)");
    drop(listener);
}

//! A link conditioner: a TCP proxy on 127.0.0.1 that delays every chunk in each direction by a
//! fixed one-way latency plus random jitter, keeping byte order (as a real path does), and can
//! stall the downstream path for a while (a congested or fading link: nothing arrives, then
//! everything sent meanwhile arrives at once, as TCP retransmission delivers it).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

pub(crate) struct Conditioner {
    pub(crate) addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for Conditioner {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// When, after a connection is made, its server-to-client path stalls, and for how long.
#[derive(Clone, Copy)]
pub(crate) struct Outage {
    pub(crate) after: Duration,
    pub(crate) length: Duration,
}

impl Conditioner {
    /// Proxies connections to `target`, adding `one_way` ± `jitter`/2 each way.
    pub(crate) async fn start(
        target: SocketAddr,
        one_way: Duration,
        jitter: Duration,
        seed: u64,
    ) -> Conditioner {
        Conditioner::start_with(target, one_way, jitter, seed, None).await
    }

    /// As [`Conditioner::start`], and the downstream path of each connection stalls once.
    pub(crate) async fn start_with(
        target: SocketAddr,
        one_way: Duration,
        jitter: Duration,
        seed: u64,
        outage: Option<Outage>,
    ) -> Conditioner {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binding the conditioner");
        let addr = listener.local_addr().expect("address");
        let task = tokio::spawn(async move {
            let mut seed = seed;
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(target).await else { continue };
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                seed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
                let down = outage.map(|o| {
                    let start = Instant::now() + o.after;
                    (start, start + o.length)
                });
                tokio::spawn(pump(client_read, server_write, one_way, jitter, seed, None));
                tokio::spawn(pump(
                    server_read,
                    client_write,
                    one_way,
                    jitter,
                    seed ^ 0xdead_beef,
                    down,
                ));
            }
        });
        Conditioner { addr, task }
    }
}

/// Copies `from` to `to`, releasing each chunk at its own delayed time, never out of order;
/// whatever is due inside `outage` (start, end) is held until its end.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    one_way: Duration,
    jitter: Duration,
    mut seed: u64,
    outage: Option<(Instant, Instant)>,
) {
    let (chunks, mut due) = mpsc::channel::<(Instant, Vec<u8>)>(4096);
    let writer = tokio::spawn(async move {
        while let Some((at, chunk)) = due.recv().await {
            tokio::time::sleep_until(at).await;
            if to.write_all(&chunk).await.is_err() {
                return;
            }
        }
        let _ = to.shutdown().await;
    });
    let mut last_release = Instant::now();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let spread = jitter.as_secs_f64() * ((seed % 1000) as f64 / 1000.0 - 0.5);
        let delay = Duration::from_secs_f64((one_way.as_secs_f64() + spread).max(0.0));
        let mut release = Instant::now() + delay;
        if let Some((start, end)) = outage
            && (start..end).contains(&release)
        {
            release = end;
        }
        last_release = last_release.max(release);
        if chunks.send((last_release, buf[..n].to_vec())).await.is_err() {
            break;
        }
    }
    drop(chunks);
    let _ = writer.await;
}

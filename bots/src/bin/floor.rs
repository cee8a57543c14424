//! `floor`: what the bench's message pattern costs on this machine with nothing else — no
//! WebSocket framing, no game, no decoding: the floor under the server's and the bots' CPU per
//! client-second.
//!
//! ```text
//! floor serve --bind 127.0.0.1:7792 --count 800 --hz 20 --down 400 --secs 10
//! floor load --addr 127.0.0.1:7792 --count 800 --hz 20 --up 40 --secs 10
//! ```
//!
//! Both ends speak length-prefixed messages over raw TCP on loopback, built the way the game's
//! are: the serving end has one task per connection that reads each input message as it comes
//! and, woken by a ticker `hz` times a second (as the room wakes a session), writes one message
//! of `down` bytes; the loading end has one task per connection that sends one message of `up`
//! bytes `hz` times a second and reads what comes. So each client costs one write and one read
//! per send on each side: the physical floor the issue names. Each end measures its own CPU
//! over `secs` seconds once all `count` connections are up, prints one JSON line and exits.
//! `cargo xtask bench --only floor` runs both, pinned as the bench pins the server and bots.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Parser, Subcommand};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// The largest message either end takes (a length prefix is two bytes).
const MAX_MESSAGE: usize = 16 * 1024;

#[derive(Debug, Parser)]
#[command(name = "floor", about = "The CPU floor of the bench's message pattern, without a game")]
struct Args {
    #[command(subcommand)]
    role: Role,
}

#[derive(Debug, Subcommand)]
enum Role {
    /// The server's end: reads inputs, writes one message per connection per tick.
    Serve {
        #[arg(long, default_value = "127.0.0.1:7792")]
        bind: String,
        #[command(flatten)]
        pattern: Pattern,
        /// Bytes of each message written to a client.
        #[arg(long, default_value_t = 100)]
        down: usize,
    },
    /// The clients' end: `count` connections, each sending one message per tick.
    Load {
        #[arg(long, default_value = "127.0.0.1:7792")]
        addr: String,
        #[command(flatten)]
        pattern: Pattern,
        /// Bytes of each message a client sends.
        #[arg(long, default_value_t = 40)]
        up: usize,
    },
}

#[derive(Debug, clap::Args)]
struct Pattern {
    /// Connections.
    #[arg(long, default_value_t = 800)]
    count: usize,
    /// Messages per second each way per connection.
    #[arg(long, default_value_t = 30)]
    hz: u16,
    /// Seconds measured once every connection is up.
    #[arg(long, default_value_t = 10.0)]
    secs: f64,
}

/// mimalloc, as the server and the bots.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Args::parse().role {
        Role::Serve { bind, pattern, down } => serve(&bind, &pattern, down).await,
        Role::Load { addr, pattern, up } => load(&addr, &pattern, up).await,
    }
}

/// Messages moved by every connection of one end, for the report.
#[derive(Default)]
struct Counts {
    read: AtomicUsize,
    written: AtomicUsize,
}

async fn serve(bind: &str, pattern: &Pattern, down: usize) -> anyhow::Result<()> {
    let listener = TcpListener::bind(bind).await.with_context(|| format!("binding {bind}"))?;
    let counts = Arc::new(Counts::default());
    let mut wakers: Vec<Arc<Notify>> = Vec::with_capacity(pattern.count);
    while wakers.len() < pattern.count {
        let (stream, _) = listener.accept().await.context("accepting")?;
        stream.set_nodelay(true)?;
        let wake = Arc::new(Notify::new());
        wakers.push(wake.clone());
        tokio::spawn(session(stream, wake, vec![0x5a; down], counts.clone()));
    }
    // The room: wakes every session once a tick, as a room that sends every tick does.
    let period = Duration::from_secs_f64(1.0 / f64::from(pattern.hz.max(1)));
    let ticker = tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        loop {
            tick.tick().await;
            wakers.iter().for_each(|wake| wake.notify_one());
        }
    });
    let report = measure(pattern, &counts).await;
    ticker.abort();
    println!("{report}");
    Ok(())
}

/// One server-side connection, one task as a game session is: reads input messages as they
/// come, writes one message each time the ticker wakes it.
async fn session(stream: TcpStream, wake: Arc<Notify>, message: Vec<u8>, counts: Arc<Counts>) {
    let (mut reader, mut writer) = stream.into_split();
    let mut inbox = Inbox::new();
    let framed = frame(&message);
    loop {
        tokio::select! {
            () = wake.notified() => {
                if writer.write_all(&framed).await.is_err() {
                    return;
                }
                counts.written.fetch_add(1, Ordering::Relaxed);
            }
            read = inbox.read(&mut reader, &counts) => if read.is_err() { return },
        }
    }
}

async fn load(addr: &str, pattern: &Pattern, up: usize) -> anyhow::Result<()> {
    let counts = Arc::new(Counts::default());
    let period = Duration::from_secs_f64(1.0 / f64::from(pattern.hz.max(1)));
    for index in 0..pattern.count {
        let stream = match index {
            0 => first_connection(addr).await,
            _ => TcpStream::connect(addr).await,
        }
        .with_context(|| format!("connecting {addr}"))?;
        stream.set_nodelay(true)?;
        tokio::spawn(client(stream, period, frame(&vec![0xa5; up]), counts.clone()));
    }
    println!("{}", measure(pattern, &counts).await);
    Ok(())
}

/// Connects, retrying for up to 10 s while the serving end starts.
async fn first_connection(addr: &str) -> std::io::Result<TcpStream> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match TcpStream::connect(addr).await {
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            connected => return connected,
        }
    }
}

/// One client: sends a message every `period`, reads what comes in between.
async fn client(stream: TcpStream, period: Duration, framed: Vec<u8>, counts: Arc<Counts>) {
    let (mut reader, mut writer) = stream.into_split();
    let mut inbox = Inbox::new();
    let mut tick = tokio::time::interval(period);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if writer.write_all(&framed).await.is_err() {
                    return;
                }
                counts.written.fetch_add(1, Ordering::Relaxed);
            }
            read = inbox.read(&mut reader, &counts) => if read.is_err() { return },
        }
    }
}

/// What a connection has read and not yet counted: at most one message cut by a read.
struct Inbox {
    buf: Vec<u8>,
    have: usize,
}

impl Inbox {
    fn new() -> Inbox {
        Inbox { buf: vec![0; MAX_MESSAGE], have: 0 }
    }

    /// Reads once (one syscall when data is there) and counts the whole messages that came; a
    /// cut one waits for the next read. Cancel-safe: nothing changes until the read completes.
    async fn read(&mut self, reader: &mut OwnedReadHalf, counts: &Counts) -> std::io::Result<()> {
        let more = reader.read(&mut self.buf[self.have..]).await?;
        if more == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        self.have += more;
        let mut at = 0;
        while self.have - at >= 2 {
            let len = usize::from(u16::from_be_bytes([self.buf[at], self.buf[at + 1]]));
            if self.have - at < 2 + len {
                break;
            }
            at += 2 + len;
            counts.read.fetch_add(1, Ordering::Relaxed);
        }
        self.buf.copy_within(at..self.have, 0);
        self.have -= at;
        Ok(())
    }
}

/// `payload` behind its two-byte length.
fn frame(payload: &[u8]) -> Vec<u8> {
    let len = u16::try_from(payload.len().min(MAX_MESSAGE - 2)).unwrap_or(u16::MAX);
    let mut framed = len.to_be_bytes().to_vec();
    framed.extend_from_slice(&payload[..usize::from(len)]);
    framed
}

/// Waits a second for the connections to settle, then measures this process's CPU over
/// `pattern.secs`: the JSON report line.
async fn measure(pattern: &Pattern, counts: &Counts) -> String {
    tokio::time::sleep(Duration::from_secs(1)).await;
    let cpu_before = heap::process::cpu_seconds();
    let (read_before, written_before) =
        (counts.read.load(Ordering::Relaxed), counts.written.load(Ordering::Relaxed));
    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(pattern.secs)).await;
    let secs = start.elapsed().as_secs_f64();
    let cpu_per_s = (heap::process::cpu_seconds() - cpu_before) / secs;
    let per_client_s = |now: usize, before: usize| {
        now.saturating_sub(before) as f64 / secs / pattern.count.max(1) as f64
    };
    serde_json::json!({
        "clients": pattern.count,
        "hz": pattern.hz,
        "cpu_per_s": cpu_per_s,
        "us_per_client_s": cpu_per_s * 1e6 / pattern.count.max(1) as f64,
        "reads_per_client_s": per_client_s(counts.read.load(Ordering::Relaxed), read_before),
        "writes_per_client_s": per_client_s(counts.written.load(Ordering::Relaxed), written_before),
    })
    .to_string()
}

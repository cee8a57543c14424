//! `run` against a fake Agones SDK sidecar: a tonic gRPC server on 127.0.0.1 that answers the
//! calls the SDK makes and records them.
//!
//! The `agones` crate generates only the client (its `build.rs` sets `build_server(false)`, and
//! its generated modules are private), so the fake routes by gRPC path itself, the way
//! tonic-generated servers do, with `tonic::server::Grpc` and prost messages declared here with
//! the same field numbers as Agones' `sdk.proto` and `beta.proto` (the `GameServer` message is
//! the crate's own, which it exports).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tonic::body::BoxBody;
use tonic::codec::ProstCodec;
use tonic::codegen::http;
use tonic::server::{Grpc, NamedService};

use super::{DRAINING_LABEL, HEALTH_INTERVAL, Load, PLAYERS_COUNTER, ROOMS_COUNTER, run_at};

/// A bound for every wait on the code under test (two health intervals and some).
const PATIENCE: Duration = Duration::from_secs(10);

#[tokio::test]
async fn reports_ready_health_load_draining_and_shutdown() {
    // `run` logs what it saw (Allocated, the draining label); shown when a test fails.
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    let fake = FakeSdk::start().await;
    let initial = Load { players: 0, capacity: 64, rooms: 0 };
    let (load, load_rx) = watch::channel(initial);
    let draining = CancellationToken::new();
    let done = CancellationToken::new();
    let task = tokio::spawn(run_at(Some(fake.address), load_rx, draining.clone(), done.clone()));

    fake.wait_for("Ready", |calls| calls.contains(&Call::Ready)).await;
    let calls = fake.calls();
    let ready_at = calls.iter().position(|call| *call == Call::Ready).unwrap();
    for counter in [
        Call::capacity(PLAYERS_COUNTER, 64),
        Call::count(PLAYERS_COUNTER, 0),
        Call::count(ROOMS_COUNTER, 0),
    ] {
        let at = calls.iter().position(|call| *call == counter);
        assert!(at.is_some_and(|at| at < ready_at), "{counter:?} set before Ready: {calls:?}");
    }

    load.send(Load { players: 3, capacity: 64, rooms: 1 }).unwrap();
    fake.wait_for("players 3 and rooms 1", |calls| {
        calls.contains(&Call::count(PLAYERS_COUNTER, 3))
            && calls.contains(&Call::count(ROOMS_COUNTER, 1))
    })
    .await;
    let capacities = |calls: &[Call]| {
        calls.iter().filter(|call| **call == Call::capacity(PLAYERS_COUNTER, 64)).count()
    };
    assert_eq!(capacities(&fake.calls()), 1, "an unchanged capacity is not sent again");

    // More seats and players: the capacity has to grow before the count may pass 64.
    load.send(Load { players: 100, capacity: 128, rooms: 4 }).unwrap();
    fake.wait_for("players 100", |calls| calls.contains(&Call::count(PLAYERS_COUNTER, 100))).await;
    // Fewer seats: the count has to shrink before the capacity may fall below 100.
    load.send(Load { players: 2, capacity: 8, rooms: 1 }).unwrap();
    fake.wait_for("capacity 8", |calls| calls.contains(&Call::capacity(PLAYERS_COUNTER, 8))).await;
    let calls = fake.calls();
    assert_eq!(counter_state(&calls, PLAYERS_COUNTER), (2, 8), "players mirrored: {calls:?}");
    let allocations = calls.iter().filter(|call| **call == Call::Allocate).count();
    assert_eq!(allocations, 1, "allocated once, when the first player came: {calls:?}");
    assert_eq!(counter_state(&calls, ROOMS_COUNTER).0, 1, "rooms mirrored: {calls:?}");
    assert!(!calls.iter().any(|call| matches!(call, Call::Refused(_))), "none refused: {calls:?}");

    // The last player leaves: back to Ready, in the pool.
    load.send(Load { players: 0, capacity: 8, rooms: 1 }).unwrap();
    fake.wait_for("Ready again", |calls| {
        calls.iter().filter(|call| **call == Call::Ready).count() == 2
    })
    .await;

    // The first ping goes out at once, the next one interval later.
    fake.wait_for("two health pings", |calls| {
        calls.iter().filter(|call| **call == Call::Health).count() >= 2
    })
    .await;

    draining.cancel();
    let label = Call::Label(DRAINING_LABEL.into(), "true".into());
    fake.wait_for("the draining label", |calls| calls.contains(&label)).await;
    assert!(!fake.calls().contains(&Call::Shutdown), "no Shutdown before `done`");

    done.cancel();
    tokio::time::timeout(PATIENCE, task)
        .await
        .expect("run returns once `done` fires")
        .expect("run does not panic")
        .expect("run ends without an error");
    let calls = fake.calls();
    assert_eq!(calls.last(), Some(&Call::Shutdown), "Shutdown is the last call: {calls:?}");
    assert_eq!(calls.iter().filter(|call| **call == Call::Shutdown).count(), 1, "{calls:?}");
}

#[tokio::test]
async fn a_missing_sidecar_is_an_error_within_seconds() {
    // A port that was free a moment ago: nothing answers there.
    let address = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let (_load, load_rx) = watch::channel(Load::default());
    let never = CancellationToken::new();
    let result = tokio::time::timeout(
        PATIENCE,
        run_at(Some(address), load_rx, never.clone(), never.clone()),
    )
    .await
    .expect("run gives up within its connect time-out");
    let error = format!("{:#}", result.expect_err("no sidecar is an error"));
    assert!(error.contains("no Agones SDK sidecar answered"), "{error}");
}

/// A call the fake received, in the order received.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Call {
    GetGameServer,
    Ready,
    Allocate,
    Health,
    Label(String, String),
    Counter {
        name: String,
        count: Option<i64>,
        capacity: Option<i64>,
    },
    /// A Counter update refused for going past the capacity.
    Refused(String),
    Shutdown,
}

impl Call {
    fn count(name: &str, count: i64) -> Call {
        Call::Counter { name: name.into(), count: Some(count), capacity: None }
    }

    fn capacity(name: &str, capacity: i64) -> Call {
        Call::Counter { name: name.into(), count: None, capacity: Some(capacity) }
    }
}

/// The fake sidecar: where it listens and what it was asked.
struct FakeSdk {
    address: SocketAddr,
    calls: Arc<Mutex<Vec<Call>>>,
}

impl FakeSdk {
    async fn start() -> FakeSdk {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let incoming =
            tonic::transport::server::TcpIncoming::from_listener(listener, true, None).unwrap();
        let calls = Arc::new(Mutex::new(Vec::new()));
        let router = tonic::transport::Server::builder()
            .add_service(Stable(Arc::clone(&calls)))
            .add_service(Beta(Arc::clone(&calls)));
        // Ends with the test's runtime.
        tokio::spawn(router.serve_with_incoming(incoming));
        FakeSdk { address, calls }
    }

    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    /// Waits until the calls so far satisfy `done`, failing after [`PATIENCE`].
    async fn wait_for(&self, what: &str, done: impl Fn(&[Call]) -> bool) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while !done(&self.calls()) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "no {what} within {PATIENCE:?} (health every {HEALTH_INTERVAL:?}): {:?}",
                self.calls()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

type Recorder = Arc<Mutex<Vec<Call>>>;
type Answer = Pin<Box<dyn Future<Output = Result<http::Response<BoxBody>, Infallible>> + Send>>;

/// `agones.dev.sdk.SDK`: the stable service.
#[derive(Clone)]
struct Stable(Recorder);

/// `agones.dev.sdk.beta.SDK`: Counters and Lists.
#[derive(Clone)]
struct Beta(Recorder);

impl NamedService for Stable {
    const NAME: &'static str = "agones.dev.sdk.SDK";
}

impl NamedService for Beta {
    const NAME: &'static str = "agones.dev.sdk.beta.SDK";
}

impl tower::Service<http::Request<BoxBody>> for Stable {
    type Response = http::Response<BoxBody>;
    type Error = Infallible;
    type Future = Answer;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<BoxBody>) -> Answer {
        let calls = Arc::clone(&self.0);
        let record = move |call: Call| calls.lock().unwrap().push(call);
        Box::pin(async move {
            let method = request.uri().path().rsplit('/').next().unwrap_or_default().to_string();
            Ok(match method.as_str() {
                "GetGameServer" => {
                    unary(request, move |_: Empty| {
                        record(Call::GetGameServer);
                        Ok(game_server("Scheduled"))
                    })
                    .await
                }
                "Ready" => {
                    unary(request, move |_: Empty| {
                        record(Call::Ready);
                        Ok(Empty {})
                    })
                    .await
                }
                "Allocate" => {
                    unary(request, move |_: Empty| {
                        record(Call::Allocate);
                        Ok(Empty {})
                    })
                    .await
                }
                "Shutdown" => {
                    unary(request, move |_: Empty| {
                        record(Call::Shutdown);
                        Ok(Empty {})
                    })
                    .await
                }
                "SetLabel" => {
                    unary(request, move |pair: KeyValue| {
                        record(Call::Label(pair.key, pair.value));
                        Ok(Empty {})
                    })
                    .await
                }
                "Health" => {
                    let pings =
                        tower::service_fn(move |pings: tonic::Request<tonic::Streaming<Empty>>| {
                            let record = record.clone();
                            async move {
                                let mut pings = pings.into_inner();
                                while pings.message().await?.is_some() {
                                    record(Call::Health);
                                }
                                Ok::<_, tonic::Status>(tonic::Response::new(Empty {}))
                            }
                        });
                    Grpc::new(ProstCodec::<Empty, Empty>::default())
                        .client_streaming(pings, request)
                        .await
                }
                "WatchGameServer" => {
                    // Ready, then Allocated, then nothing more while the stream stays open.
                    let watch = tower::service_fn(|_: tonic::Request<Empty>| async {
                        let states = [game_server("Ready"), game_server("Allocated")];
                        let updates = futures_util::stream::iter(states.map(Ok))
                            .chain(futures_util::stream::pending());
                        Ok::<_, tonic::Status>(tonic::Response::new(updates))
                    });
                    Grpc::new(ProstCodec::<agones::GameServer, Empty>::default())
                        .server_streaming(watch, request)
                        .await
                }
                _ => tonic::Status::unimplemented(method).into_http(),
            })
        })
    }
}

impl tower::Service<http::Request<BoxBody>> for Beta {
    type Response = http::Response<BoxBody>;
    type Error = Infallible;
    type Future = Answer;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<BoxBody>) -> Answer {
        let calls = Arc::clone(&self.0);
        Box::pin(async move {
            if !request.uri().path().ends_with("/UpdateCounter") {
                return Ok(tonic::Status::unimplemented(request.uri().path()).into_http());
            }
            Ok(unary(request, move |update: UpdateCounterRequest| {
                let update = update.counter_update_request.unwrap_or_default();
                let mut calls = calls.lock().unwrap();
                // As Agones does: only declared Counters, never counting past their capacity
                // (an update that would is refused and changes nothing).
                if !DECLARED.iter().any(|(name, ..)| *name == update.name) {
                    return Err(tonic::Code::NotFound);
                }
                let (mut count, mut capacity) = counter_state(&calls, &update.name);
                count = update.count.unwrap_or(count);
                capacity = update.capacity.unwrap_or(capacity);
                if count > capacity {
                    calls.push(Call::Refused(update.name));
                    return Err(tonic::Code::OutOfRange);
                }
                let name = update.name.clone();
                calls.push(Call::Counter {
                    name: update.name,
                    count: update.count,
                    capacity: update.capacity,
                });
                Ok(Counter { name, count, capacity })
            })
            .await)
        })
    }
}

/// Answers one unary call with `answer` (an error is its gRPC status code).
async fn unary<In, Out>(
    request: http::Request<BoxBody>,
    answer: impl Fn(In) -> Result<Out, tonic::Code> + Clone + Send + 'static,
) -> http::Response<BoxBody>
where
    In: prost::Message + Default + Send + 'static,
    Out: prost::Message + Send + 'static,
{
    let service = tower::service_fn(move |request: tonic::Request<In>| {
        let answer = answer(request.into_inner());
        std::future::ready(
            answer.map(tonic::Response::new).map_err(|code| tonic::Status::new(code, "refused")),
        )
    });
    Grpc::new(ProstCodec::<Out, In>::default()).unary(service, request).await
}

/// The Counters `deploy/agones/fleet.yaml` declares: (name, count, capacity).
const DECLARED: [(&str, i64, i64); 2] = [(PLAYERS_COUNTER, 0, 2048), (ROOMS_COUNTER, 0, 64)];

/// A declared Counter's (count, capacity) after the updates among `calls`.
fn counter_state(calls: &[Call], counter: &str) -> (i64, i64) {
    let declared = DECLARED.iter().find(|(name, ..)| *name == counter);
    let &(_, mut count, mut capacity) = declared.expect("a declared Counter");
    for call in calls {
        if let Call::Counter { name, count: new_count, capacity: new_capacity } = call
            && name == counter
        {
            count = new_count.unwrap_or(count);
            capacity = new_capacity.unwrap_or(capacity);
        }
    }
    (count, capacity)
}

fn game_server(state: &str) -> agones::GameServer {
    let status = agones::Status { state: state.into(), ..agones::Status::default() };
    agones::GameServer { status: Some(status), ..agones::GameServer::default() }
}

// The messages of Agones' `sdk.proto` and `beta.proto` the fake needs, field for field.

/// `agones.dev.sdk.Empty`.
#[derive(Clone, Copy, PartialEq, prost::Message)]
struct Empty {}

/// `agones.dev.sdk.KeyValue`.
#[derive(Clone, PartialEq, prost::Message)]
struct KeyValue {
    #[prost(string, tag = "1")]
    key: String,
    #[prost(string, tag = "2")]
    value: String,
}

/// `agones.dev.sdk.beta.Counter`.
#[derive(Clone, PartialEq, prost::Message)]
struct Counter {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(int64, tag = "2")]
    count: i64,
    #[prost(int64, tag = "3")]
    capacity: i64,
}

/// `agones.dev.sdk.beta.CounterUpdateRequest` (`count` and `capacity` are
/// `google.protobuf.Int64Value`s).
#[derive(Clone, PartialEq, prost::Message)]
struct CounterUpdateRequest {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(message, optional, tag = "2")]
    count: Option<i64>,
    #[prost(message, optional, tag = "3")]
    capacity: Option<i64>,
    #[prost(int64, tag = "4")]
    count_diff: i64,
}

/// `agones.dev.sdk.beta.UpdateCounterRequest`.
#[derive(Clone, PartialEq, prost::Message)]
struct UpdateCounterRequest {
    #[prost(message, optional, tag = "1")]
    counter_update_request: Option<CounterUpdateRequest>,
}

//! Snapshot cost per client on the arena workload (4000×4000 open map, players wandering on a
//! new heading every second): bytes per client per second and encode time per client per tick,
//! with interest management and deltas (the default) and in the full-world mode (every player,
//! keyframes), for 50, 200 and 1,000 players.
//!
//! `cargo bench -p shared --bench snapshots`

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use shared::ids::PlayerId;
use shared::map::Map;
use shared::protocol::InputCmd;
use shared::sim::{self, TickInputs, World};
use shared::tick::Tick;
use shared::view::{ViewBuilder, Viewer};

const HZ: u16 = 30;
const VIEW_RADIUS: f32 = 900.0;

struct Arena {
    world: World,
    view: ViewBuilder,
    viewers: Vec<Viewer>,
    held: Vec<Option<Tick>>,
    rng: u32,
    headings: Vec<(i8, i8)>,
}

impl Arena {
    fn new(players: u32, full: bool) -> Arena {
        let map = Map::from_json(include_str!("../../assets/maps/open.json")).expect("open map");
        let mut world = World::new(map.clone(), HZ);
        // A room that has run for a day: ticks and input numbers take their full size.
        world.tick = Tick(30 * 86_400);
        let mut rng = 0x1234_5678_u32;
        for id in 1..=players {
            world.add_player(PlayerId(id));
            let (x, y) = (next(&mut rng) % 3900 + 50, next(&mut rng) % 3900 + 50);
            world.players.get_mut(&PlayerId(id)).expect("added").pos =
                glam::Vec2::new(x as f32, y as f32);
        }
        let view = ViewBuilder::new(map.size(), VIEW_RADIUS, full);
        let n = players as usize;
        Arena {
            world,
            view,
            viewers: (0..n).map(|_| Viewer::default()).collect(),
            held: vec![None; n],
            rng,
            headings: vec![(0, 0); n],
        }
    }

    /// One tick: step the world, then build and encode every client's snapshot. Returns bytes.
    fn tick(&mut self) -> usize {
        if self.world.tick.0.is_multiple_of(u32::from(HZ)) {
            for heading in &mut self.headings {
                let angle = (next(&mut self.rng) % 360) as f32 * std::f32::consts::PI / 180.0;
                *heading = ((angle.cos() * 127.0) as i8, (angle.sin() * 127.0) as i8);
            }
        }
        let inputs: TickInputs = self
            .headings
            .iter()
            .enumerate()
            .map(|(i, (x, y))| {
                (
                    PlayerId(i as u32 + 1),
                    InputCmd {
                        move_x: *x,
                        move_y: *y,
                        aim_x: i16::from(*x),
                        aim_y: i16::from(*y),
                        ..InputCmd::default()
                    },
                )
            })
            .collect();
        sim::step(&mut self.world, &inputs);
        let tick = self.world.tick;
        self.view.prepare(&self.world);
        let mut bytes = 0;
        for (i, viewer) in self.viewers.iter_mut().enumerate() {
            let frame =
                self.view.snapshot_frame(PlayerId(i as u32 + 1), viewer, 0, 0, self.held[i]);
            bytes += frame.len();
            // A reading client: the frame just built is the one written to its socket.
            self.held[i] = Some(tick);
        }
        bytes
    }
}

fn next(state: &mut u32) -> u32 {
    *state ^= *state << 13;
    *state ^= *state >> 17;
    *state ^= *state << 5;
    *state
}

fn bytes_per_client_per_second(players: u32, full: bool) -> f64 {
    let mut arena = Arena::new(players, full);
    for _ in 0..60 {
        arena.tick();
    }
    let seconds = 3;
    let total: usize = (0..u32::from(HZ) * seconds).map(|_| arena.tick()).sum();
    total as f64 / f64::from(players) / f64::from(seconds)
}

fn snapshots(c: &mut Criterion) {
    println!("\nbytes per client per second at {HZ} Hz (arena workload):");
    for players in [50u32, 200, 1000] {
        let lean = bytes_per_client_per_second(players, false);
        let full = bytes_per_client_per_second(players, true);
        println!(
            "  {players:>5} players: interest+delta {lean:>9.0} B/s   full world {full:>10.0} B/s   ratio {:>6.1}x",
            full / lean
        );
    }
    let mut group = c.benchmark_group("encode_per_tick");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1));
    for players in [50u32, 200, 1000] {
        for (mode, full) in [("interest+delta", false), ("full-world", true)] {
            let mut arena = Arena::new(players, full);
            for _ in 0..60 {
                arena.tick();
            }
            // Throughput in clients: criterion's elem/s inverted is the time per client.
            group.throughput(Throughput::Elements(u64::from(players)));
            group.bench_function(BenchmarkId::new(mode, players), |b| {
                b.iter(|| black_box(arena.tick()))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, snapshots);
criterion_main!(benches);

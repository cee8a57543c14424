use glam::Vec2;
use shared::ids::PlayerId;
use shared::map::Map;
use shared::protocol::{GameEvent, InputCmd};
use shared::sim::{self, TickInputs, World};
use shared::view::{self, ShotLine, ViewBuilder, Viewer};
fn main() {
    let map = Map::from_json(include_str!("../../assets/maps/open.json")).unwrap();
    let mut world = World::new(map.clone(), 30);
    let n = 1000u32;
    let mut rng = 12345u64;
    let mut r = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng % 1_000_000) as f32 / 1e6
    };
    for id in 1..=n {
        world.add_player(PlayerId(id));
    }
    let mut heads: Vec<(Vec2, bool)> = (0..n).map(|_| (Vec2::X, false)).collect();
    let mut vb = ViewBuilder::new(map.size(), 900.0, false);
    let mut viewers: Vec<Viewer> = (0..n).map(|_| Viewer::default()).collect();
    let (mut total, mut drawn, mut hits, mut full, mut shots_all) =
        (0usize, 0usize, 0usize, 0usize, 0usize);
    let mut hit_of = std::collections::HashMap::new();
    let mut kills = 0usize;
    let mut kill_bytes = 0usize;
    for t in 0..600 {
        if t % 30 == 0 {
            for h in heads.iter_mut() {
                let a = r() * std::f32::consts::TAU;
                h.0 = Vec2::new(a.cos(), a.sin());
                if r() < 0.3 {
                    h.1 = !h.1;
                }
            }
        }
        let inputs: TickInputs = heads
            .iter()
            .enumerate()
            .map(|(i, (d, f))| (PlayerId(i as u32 + 1), InputCmd::steer(*d, *d, *f)))
            .collect();
        let events = sim::step(&mut world, &inputs);
        vb.prepare(&world);
        for (i, v) in viewers.iter_mut().enumerate() {
            vb.snapshot_frame(PlayerId(i as u32 + 1), v, 0, 0, None);
        }
        if t < 300 {
            continue;
        }
        let mut lines = Vec::new();
        let global: Vec<GameEvent> =
            events.iter().filter(|e| matches!(e, GameEvent::Killed { .. })).cloned().collect();
        kills += global.len();
        kill_bytes += shared::codec::encode_events_body(&global).len();
        for e in events.iter() {
            if let GameEvent::Shot { shooter, from, to, hit } = e {
                lines.push(ShotLine::new(*shooter, *from, *to));
                hit_of.insert((*shooter, from.x, from.y, to.x, to.y), hit.is_some());
            }
        }
        lines.sort_by_key(|l| l.shooter);
        shots_all += lines.len();
        let mut out = Vec::new();
        for (i, v) in viewers.iter().enumerate().step_by(10) {
            let id = PlayerId(i as u32 + 1);
            let me = world.players[&id].pos;
            out.clear();
            view::beams_in_sight(
                &lines,
                view::sight(me, map.size(), Vec2::new(711.0, 400.0)),
                (Some(id), v.visible()),
                false,
                &mut out,
            );
            for b in &out {
                total += 1;
                if b.from.is_none() {
                    drawn += 1;
                }
                let l = lines.iter().find(|l| l.shooter == b.shooter && l.to == b.to).unwrap();
                if hit_of[&(l.shooter, l.from.x, l.from.y, l.to.x, l.to.y)] {
                    hits += 1;
                } else if (l.to.to_world() - l.from.to_world()).length() > 995.0 {
                    full += 1;
                }
            }
        }
    }
    let viewers_s = 100.0 * 10.0;
    println!("kills/s {:.0}, kill bytes/s {:.0}", kills as f64 / 10.0, kill_bytes as f64 / 10.0);
    println!(
        "shots/s {:.0}; per viewer beams/s {:.0}, drawn {:.0}%, hits {:.0}%, full-range misses {:.0}%",
        shots_all as f64 / 10.0,
        total as f64 / viewers_s,
        drawn as f64 * 100.0 / total as f64,
        hits as f64 * 100.0 / total as f64,
        full as f64 * 100.0 / total as f64
    );
}

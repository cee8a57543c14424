//! Reads the server's own figures from its Prometheus `/metrics` page, so a bot report puts
//! what players saw next to what the server spent.

/// The figures a report needs, at one instant.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ServerFigures {
    /// Cumulative tick-duration buckets: (upper bound in seconds, count).
    pub tick_buckets: Vec<(f64, f64)>,
    pub tick_count: f64,
    pub tick_max_seconds: f64,
    /// Cumulative buckets of the server's input answer times (from reading an input to writing
    /// the snapshot that acknowledges it), and their count.
    pub answer_buckets: Vec<(f64, f64)>,
    pub answer_count: f64,
    pub cpu_seconds: f64,
    pub rss_bytes: f64,
    pub players: f64,
    /// Each room's own tick buckets and count, by room name.
    pub rooms: std::collections::BTreeMap<String, ServerFigures>,
}

/// GETs `/metrics` from `host` and parses it.
pub async fn scrape(host: &str) -> anyhow::Result<ServerFigures> {
    Ok(parse(&crate::http::request(host, "GET", "/metrics").await?))
}

pub fn parse(text: &str) -> ServerFigures {
    let mut figures = ServerFigures::default();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((name, value)) = line.rsplit_once(' ') else { continue };
        let Ok(value) = value.parse::<f64>() else { continue };
        if let Some(bound) = name.strip_prefix("skirmish_tick_duration_seconds_bucket{le=\"") {
            figures.tick_buckets.push((bucket_bound(bound), value));
            continue;
        }
        if let Some(bound) = name.strip_prefix("skirmish_input_answer_seconds_bucket{le=\"") {
            figures.answer_buckets.push((bucket_bound(bound), value));
            continue;
        }
        if let Some(labels) =
            name.strip_prefix("skirmish_room_tick_duration_seconds_bucket{room=\"")
        {
            if let Some((room, bound)) = labels.split_once("\",le=\"") {
                let room = figures.rooms.entry(room.to_string()).or_default();
                room.tick_buckets.push((bucket_bound(bound), value));
            }
            continue;
        }
        if let Some(room) = name.strip_prefix("skirmish_room_tick_duration_seconds_count{room=\"") {
            let room = room.trim_end_matches("\"}");
            figures.rooms.entry(room.to_string()).or_default().tick_count = value;
            continue;
        }
        match name {
            "skirmish_tick_duration_seconds_count" => figures.tick_count = value,
            "skirmish_input_answer_seconds_count" => figures.answer_count = value,
            "skirmish_tick_duration_max_seconds" => figures.tick_max_seconds = value,
            "process_cpu_seconds_total" => figures.cpu_seconds = value,
            "process_resident_memory_bytes" => figures.rss_bytes = value,
            "skirmish_players" => figures.players = value,
            _ => {}
        }
    }
    figures
}

/// A bucket's upper bound from the text after `le="`.
fn bucket_bound(text: &str) -> f64 {
    match text.trim_end_matches("\"}") {
        "+Inf" => f64::INFINITY,
        bound => bound.parse().unwrap_or(f64::INFINITY),
    }
}

/// Percentile `p` of tick durations between two scrapes, in ms, interpolated within a bucket.
pub fn tick_percentile_ms(before: &ServerFigures, after: &ServerFigures, p: f64) -> f64 {
    let total = after.tick_count - before.tick_count;
    percentile_ms(&before.tick_buckets, &after.tick_buckets, total, p)
}

/// Percentile `p` of the server's input answer times between two scrapes, in ms.
pub fn answer_percentile_ms(before: &ServerFigures, after: &ServerFigures, p: f64) -> f64 {
    let total = after.answer_count - before.answer_count;
    percentile_ms(&before.answer_buckets, &after.answer_buckets, total, p)
}

/// Percentile `p` of the `total` samples that fell between two scrapes of a histogram's
/// cumulative buckets, in ms, interpolated within a bucket.
fn percentile_ms(before: &[(f64, f64)], after: &[(f64, f64)], total: f64, p: f64) -> f64 {
    if total <= 0.0 {
        return 0.0;
    }
    let target = total * p / 100.0;
    let mut lower_bound = 0.0;
    let mut lower_count = 0.0;
    for (i, (bound, count)) in after.iter().enumerate() {
        let earlier = before.get(i).map_or(0.0, |(_, c)| *c);
        let cumulative = count - earlier;
        if cumulative >= target {
            if bound.is_infinite() {
                return lower_bound * 1000.0;
            }
            let share = if cumulative > lower_count {
                (target - lower_count) / (cumulative - lower_count)
            } else {
                1.0
            };
            return (lower_bound + (bound - lower_bound) * share) * 1000.0;
        }
        lower_bound = *bound;
        lower_count = cumulative;
    }
    lower_bound * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "# TYPE skirmish_tick_duration_seconds histogram\n\
        skirmish_tick_duration_seconds_bucket{le=\"0.001\"} 50\n\
        skirmish_tick_duration_seconds_bucket{le=\"0.002\"} 90\n\
        skirmish_tick_duration_seconds_bucket{le=\"0.004\"} 100\n\
        skirmish_tick_duration_seconds_bucket{le=\"+Inf\"} 100\n\
        skirmish_tick_duration_seconds_count 100\n\
        skirmish_tick_duration_max_seconds 0.0035\n\
        skirmish_input_answer_seconds_bucket{le=\"0.05\"} 40\n\
        skirmish_input_answer_seconds_bucket{le=\"0.06\"} 90\n\
        skirmish_input_answer_seconds_bucket{le=\"0.08\"} 100\n\
        skirmish_input_answer_seconds_bucket{le=\"+Inf\"} 100\n\
        skirmish_input_answer_seconds_count 100\n\
        skirmish_room_tick_duration_seconds_bucket{room=\"room-1\",le=\"0.001\"} 7\n\
        skirmish_room_tick_duration_seconds_bucket{room=\"room-1\",le=\"+Inf\"} 8\n\
        skirmish_room_tick_duration_seconds_count{room=\"room-1\"} 8\n\
        process_cpu_seconds_total 12.5\n\
        process_resident_memory_bytes 10485760\n\
        skirmish_players 42\n";

    #[test]
    fn parses_the_figures() {
        let figures = parse(SAMPLE);
        assert_eq!(figures.tick_buckets.len(), 4, "{figures:?}");
        let room = &figures.rooms["room-1"];
        assert_eq!(
            (room.tick_buckets.clone(), room.tick_count),
            (vec![(0.001, 7.0), (f64::INFINITY, 8.0)], 8.0)
        );
        assert_eq!((figures.tick_count, figures.cpu_seconds, figures.players), (100.0, 12.5, 42.0));
        assert_eq!(figures.rss_bytes, 10_485_760.0);
    }

    #[test]
    fn tick_percentiles_interpolate_within_buckets() {
        let after = parse(SAMPLE);
        let before = ServerFigures::default();
        assert!(
            (tick_percentile_ms(&before, &after, 50.0) - 1.0).abs() < 1e-9,
            "p50 at the first bucket's edge"
        );
        assert!(
            (tick_percentile_ms(&before, &after, 70.0) - 1.5).abs() < 1e-9,
            "p70 halfway into 1–2 ms"
        );
        assert!((tick_percentile_ms(&before, &after, 99.0) - 3.8).abs() < 1e-9, "p99 in 2–4 ms");
        assert!(
            (answer_percentile_ms(&before, &after, 65.0) - 55.0).abs() < 1e-9,
            "answers: p65 halfway into 50–60 ms"
        );
        assert!(
            (answer_percentile_ms(&before, &after, 95.0) - 70.0).abs() < 1e-9,
            "answers: p95 halfway into 60–80 ms"
        );
        assert_eq!(
            tick_percentile_ms(&after, &after, 99.0),
            0.0,
            "no ticks between identical scrapes"
        );
    }

    #[test]
    fn host_from_ws_url() {
        assert_eq!(crate::http::host_of("ws://127.0.0.1:7777/ws").expect("host"), "127.0.0.1:7777");
        assert!(crate::http::host_of("http://x").is_err(), "only ws URLs");
    }
}

//! The cluster directory against a real Redis: each case starts its own `redis-server` on a
//! free port of 127.0.0.1 (see `harness.rs`) and talks to it through two [`cluster::Directory`]
//! handles, as two server processes would.
//!
//! ```text
//! CARGO_TARGET_DIR=/work/target-cluster cargo test -p cluster
//! ```
//!
//! Needs Debian's `redis-server` (`cargo xtask setup` installs it); without it the cases fail
//! and say so, they are never skipped.

mod directory;
mod fixtures;
mod harness;
mod seats;
mod ticket;

/// Runs each case on a two-thread runtime, bounded in time so a hung call fails the test
/// instead of stalling the run.
macro_rules! cases {
    ($($module:ident :: $case:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $case() {
            const LIMIT: std::time::Duration = std::time::Duration::from_secs(30);
            let case = crate::$module::$case();
            tokio::time::timeout(LIMIT, case).await.expect("the case took over 30 s");
        }
    )*};
}

cases!(
    directory::two_processes_see_each_other_and_a_dropped_room_leaves_at_once,
    directory::a_silent_process_vanishes_within_its_ttl,
    directory::redis_restart_is_survived_and_outages_fail_fast,
    seats::one_free_seat_goes_to_exactly_one_of_fifty,
    seats::an_expired_reservation_frees_its_seat,
    seats::a_holder_has_one_live_reservation_in_the_cluster,
    seats::a_claimed_seat_stays_taken_until_released,
    seats::a_heartbeat_counting_a_claimed_seat_releases_it,
    seats::quick_play_fills_the_fullest_room_and_skips_what_it_must,
    seats::least_loaded_picks_the_emptiest_process_that_accepts_players,
);

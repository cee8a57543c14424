//! The store against real databases: every case runs on SQLite (a temp dir) and on a private
//! PostgreSQL cluster the test starts itself.
//!
//! ```text
//! CARGO_TARGET_DIR=/work/target-store cargo test -p store
//! ```
//!
//! The PostgreSQL half needs Debian's `postgresql` package (`cargo xtask setup` installs it);
//! without it those tests fail and say so, they are never skipped.

mod cases;
mod harness;

/// Runs each case once per dialect, as `<case>::sqlite` and `<case>::postgres`, each bounded
/// in time so a hung writer fails the test instead of stalling the run.
macro_rules! on_both_dialects {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            use std::time::Duration;

            use crate::harness::TestDb;

            const LIMIT: Duration = Duration::from_secs(60);

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let case = crate::cases::$case(TestDb::sqlite());
                tokio::time::timeout(LIMIT, case).await.expect("the case took over a minute");
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let case = crate::cases::$case(TestDb::postgres());
                tokio::time::timeout(LIMIT, case).await.expect("the case took over a minute");
            }
        }
    )*};
}

on_both_dialects!(
    totals_and_both_boards,
    best_streak_is_a_maximum_and_names_update,
    players_never_seen_still_count,
    concurrent_records_all_land,
    overflow_is_counted_while_the_database_is_away,
    database_outage_mid_stream_loses_nothing,
    close_writes_everything_accepted,
    close_reports_what_it_could_not_write,
    data_survives_reopening,
);

//! The connection pools of either dialect, and the statements, written once for both.
//!
//! Every statement is `&'static str` text with `$n` parameters, which both PostgreSQL and
//! SQLite accept (a batch's multi-row inserts are built by sqlx's `QueryBuilder`, which writes
//! each dialect's placeholders), and `INSERT … ON CONFLICT … DO UPDATE`, which both have; the few differences
//! (column types, identity columns, the name collation) live in the two migration folders.
//! So one generic function per operation serves both, and `Db` only picks the pool.

use std::time::Duration;

use sqlx::pool::PoolOptions;
use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;
use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, Pool, QueryBuilder, Type};

use crate::batch::Batch;
use crate::board::{BoardRow, ProfileRow};
use crate::config::Target;

/// How long a caller waits for a pooled connection, including (re)connecting to a server that
/// is down: short, so a write attempt fails fast and the writer's backoff takes over.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
/// Connections for leaderboard and profile reads, besides the writer's.
const READ_CONNECTIONS: u32 = 4;
/// `write_batches` rows older than this are pruned; a batch is only retried while its writer
/// keeps it, which is minutes at most.
const BATCH_ID_RETENTION_SECONDS: i64 = 86_400;

/// The open database: in both dialects a pool of one connection for the writer, so lobby
/// reads never make a write wait for a connection, and a pool for reads.
pub(crate) enum Db {
    /// SQLite has one writer at a time anyway (more would only queue on its lock); WAL lets
    /// the readers run beside it.
    Sqlite {
        writer: SqlitePool,
        readers: SqlitePool,
    },
    Postgres {
        writer: PgPool,
        readers: PgPool,
    },
}

/// What a write attempt did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Written {
    Applied,
    /// The batch's id was already in `write_batches`: an earlier attempt committed, though its
    /// caller saw an error. Nothing was applied twice.
    AlreadyApplied,
}

impl Db {
    /// Connects and brings the schema up to date with that dialect's migrations.
    pub(crate) async fn open(target: Target) -> anyhow::Result<Db> {
        let db = match target {
            Target::Sqlite(options) => {
                let writer = pool_options(1).connect_with(options.clone()).await?;
                // The writer's connection created the file and switched it to WAL first.
                let readers = pool_options(READ_CONNECTIONS).connect_with(options).await?;
                sqlx::migrate!("./migrations/sqlite").run(&writer).await?;
                Db::Sqlite { writer, readers }
            }
            Target::Postgres(options) => {
                let writer = pool_options(1).connect_with(options.clone()).await?;
                sqlx::migrate!("./migrations/postgres").run(&writer).await?;
                let readers = pool_options(READ_CONNECTIONS).connect_with(options).await?;
                Db::Postgres { writer, readers }
            }
        };
        Ok(db)
    }

    pub(crate) fn backend(&self) -> &'static str {
        match self {
            Db::Sqlite { .. } => "sqlite",
            Db::Postgres { .. } => "postgres",
        }
    }

    /// Applies `batch` in one transaction, at most once per `batch_id`.
    pub(crate) async fn write(
        &self,
        batch: &Batch,
        batch_id: &str,
        now: i64,
        prune: bool,
    ) -> Result<Written, sqlx::Error> {
        match self {
            Db::Sqlite { writer, .. } => write_batch(writer, batch, batch_id, now, prune).await,
            Db::Postgres { writer, .. } => write_batch(writer, batch, batch_id, now, prune).await,
        }
    }

    /// Leaderboard rows in rank order; `since` limits it to kills after that time.
    pub(crate) async fn leaderboard(
        &self,
        since: Option<i64>,
        limit: u32,
    ) -> Result<Vec<BoardRow>, sqlx::Error> {
        match self {
            Db::Sqlite { readers, .. } => leaderboard(readers, since, limit).await,
            Db::Postgres { readers, .. } => leaderboard(readers, since, limit).await,
        }
    }

    pub(crate) async fn profile(&self, key: String) -> Result<Option<ProfileRow>, sqlx::Error> {
        match self {
            Db::Sqlite { readers, .. } => profile(readers, key).await,
            Db::Postgres { readers, .. } => profile(readers, key).await,
        }
    }

    pub(crate) async fn close(&self) {
        match self {
            Db::Sqlite { writer, readers } => {
                readers.close().await;
                writer.close().await;
            }
            Db::Postgres { writer, readers } => {
                readers.close().await;
                writer.close().await;
            }
        }
    }
}

fn pool_options<DB: Database>(connections: u32) -> PoolOptions<DB> {
    // `test_before_acquire` (the default) pings a pooled connection before handing it out, so
    // connections broken by a database restart are replaced rather than failing a write.
    PoolOptions::new().max_connections(connections).acquire_timeout(ACQUIRE_TIMEOUT)
}

/// Claims the batch id; returns nothing when another attempt already committed it.
const CLAIM_BATCH: &str = "INSERT INTO write_batches (id, written_at) VALUES ($1, $2) \
     ON CONFLICT (id) DO NOTHING RETURNING id";

/// Rows per multi-row statement: 6 parameters each stays far under either dialect's limit
/// (SQLite 32,766, PostgreSQL 65,535); a batch of [`crate::writer`]'s size needs one.
const ROWS_PER_STATEMENT: usize = 1000;

/// Players' rows: created on first sight (with an empty name if the first record is a kill or
/// a match), the name replaced only by a `Seen` (names are never empty; an empty one keeps the
/// stored name), `last_seen` only ever moving forward. Keys are unique in a batch, as one
/// statement needs.
const UPSERT_PLAYERS: &str = "INSERT INTO players (key, name, created_at, last_seen) ";
const UPSERT_PLAYERS_CONFLICT: &str = " ON CONFLICT (key) DO UPDATE SET \
     name = CASE WHEN excluded.name <> '' THEN excluded.name ELSE players.name END, \
     last_seen = CASE WHEN excluded.last_seen > players.last_seen \
     THEN excluded.last_seen ELSE players.last_seen END";

/// Adds the batch's totals to the careers; `best_streak` keeps the maximum.
const ADD_CAREERS: &str = "INSERT INTO career \
     (player_key, kills, deaths, matches, best_streak, seconds_played) ";
const ADD_CAREERS_CONFLICT: &str = " ON CONFLICT (player_key) DO UPDATE SET \
     kills = career.kills + excluded.kills, \
     deaths = career.deaths + excluded.deaths, \
     matches = career.matches + excluded.matches, \
     best_streak = CASE WHEN excluded.best_streak > career.best_streak \
     THEN excluded.best_streak ELSE career.best_streak END, \
     seconds_played = career.seconds_played + excluded.seconds_played";

const LOG_KILLS: &str = "INSERT INTO kills (at, killer, victim) ";

const PRUNE_BATCH_IDS: &str = "DELETE FROM write_batches WHERE written_at < $1";

/// Career totals, in rank order (see `board::rank`).
const BOARD_ALL_TIME: &str = "SELECT p.key AS player, p.name, c.kills, c.deaths \
     FROM career c JOIN players p ON p.key = c.player_key \
     WHERE c.kills > 0 \
     ORDER BY c.kills DESC, c.deaths ASC, p.name ASC, p.key ASC \
     LIMIT $1";

/// Kills and deaths logged after $1, in rank order; the `kills_at` index bounds the scan.
const BOARD_SINCE: &str = "WITH k AS (SELECT killer AS player_key, COUNT(*) AS kills \
     FROM kills WHERE at > $1 GROUP BY killer), \
     d AS (SELECT victim AS player_key, COUNT(*) AS deaths \
     FROM kills WHERE at > $1 GROUP BY victim) \
     SELECT p.key AS player, p.name, k.kills, COALESCE(d.deaths, 0) AS deaths \
     FROM k JOIN players p ON p.key = k.player_key \
     LEFT JOIN d ON d.player_key = k.player_key \
     ORDER BY k.kills DESC, COALESCE(d.deaths, 0) ASC, p.name ASC, p.key ASC \
     LIMIT $2";

const PROFILE: &str = "SELECT p.key AS player, p.name, \
     COALESCE(c.kills, 0) AS kills, COALESCE(c.deaths, 0) AS deaths, \
     COALESCE(c.matches, 0) AS matches, COALESCE(c.best_streak, 0) AS best_streak, \
     COALESCE(c.seconds_played, 0) AS seconds_played \
     FROM players p LEFT JOIN career c ON c.player_key = p.key \
     WHERE p.key = $1";

async fn write_batch<DB>(
    pool: &Pool<DB>,
    batch: &Batch,
    batch_id: &str,
    now: i64,
    prune: bool,
) -> Result<Written, sqlx::Error>
where
    DB: Database + sqlx::database::HasStatementCache,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'r> (String,): FromRow<'r, DB::Row>,
{
    let mut tx = pool.begin().await?;
    let claimed: Option<(String,)> = sqlx::query_as(CLAIM_BATCH)
        .bind(batch_id.to_owned())
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
    if claimed.is_none() {
        tx.rollback().await?;
        return Ok(Written::AlreadyApplied);
    }
    // One statement per table for the whole batch (a few hundred rows at most): each statement
    // is a round trip to SQLite's worker thread, and at 800 players a batch names hundreds.
    let players: Vec<_> = batch.players.iter().collect();
    for rows in players.chunks(ROWS_PER_STATEMENT) {
        let mut upsert = QueryBuilder::<DB>::new(UPSERT_PLAYERS);
        upsert.push_values(rows, |mut row, (key, change)| {
            row.push_bind(key.to_hex())
                .push_bind(change.name.clone().unwrap_or_default())
                .push_bind(change.first_at)
                .push_bind(change.last_at);
        });
        upsert.push(UPSERT_PLAYERS_CONFLICT);
        // Row counts vary: not worth a prepared statement each.
        upsert.build().persistent(false).execute(&mut *tx).await?;
    }
    let careers: Vec<_> =
        players.into_iter().filter(|(_, change)| change.changes_career()).collect();
    for rows in careers.chunks(ROWS_PER_STATEMENT) {
        let mut add = QueryBuilder::<DB>::new(ADD_CAREERS);
        add.push_values(rows, |mut row, (key, change)| {
            row.push_bind(key.to_hex())
                .push_bind(change.kills)
                .push_bind(change.deaths)
                .push_bind(change.matches)
                .push_bind(change.best_streak)
                .push_bind(change.seconds_played);
        });
        add.push(ADD_CAREERS_CONFLICT);
        add.build().persistent(false).execute(&mut *tx).await?;
    }
    for rows in batch.kills.chunks(ROWS_PER_STATEMENT) {
        let mut log = QueryBuilder::<DB>::new(LOG_KILLS);
        log.push_values(rows, |mut row, kill| {
            row.push_bind(kill.at).push_bind(kill.killer.to_hex()).push_bind(kill.victim.to_hex());
        });
        log.build().persistent(false).execute(&mut *tx).await?;
    }
    if prune {
        sqlx::query(PRUNE_BATCH_IDS)
            .bind(now - BATCH_ID_RETENTION_SECONDS)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(Written::Applied)
}

async fn leaderboard<DB>(
    pool: &Pool<DB>,
    since: Option<i64>,
    limit: u32,
) -> Result<Vec<BoardRow>, sqlx::Error>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'r> BoardRow: FromRow<'r, DB::Row>,
{
    let limit = i64::from(limit);
    match since {
        None => sqlx::query_as(BOARD_ALL_TIME).bind(limit).fetch_all(pool).await,
        Some(since) => sqlx::query_as(BOARD_SINCE).bind(since).bind(limit).fetch_all(pool).await,
    }
}

async fn profile<DB>(pool: &Pool<DB>, key: String) -> Result<Option<ProfileRow>, sqlx::Error>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'r> ProfileRow: FromRow<'r, DB::Row>,
{
    sqlx::query_as(PROFILE).bind(key).fetch_optional(pool).await
}

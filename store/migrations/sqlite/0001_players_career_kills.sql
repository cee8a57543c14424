-- Players, their career totals, the kill log, and the login identities to come.
-- Keys are the 32-char lowercase hex form of PlayerKey; times are unix seconds.

CREATE TABLE players (
    key        TEXT    NOT NULL PRIMARY KEY CHECK (length(key) = 32),
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL
);

-- A login (OAuth provider + subject, or a password provider) names a player; unused until
-- login exists. Several identities may lead to one player.
CREATE TABLE identities (
    provider   TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    player_key TEXT    NOT NULL REFERENCES players (key),
    created_at INTEGER NOT NULL,
    UNIQUE (provider, subject)
);
CREATE INDEX identities_player_key ON identities (player_key);

CREATE TABLE career (
    player_key     TEXT    NOT NULL PRIMARY KEY REFERENCES players (key),
    kills          INTEGER NOT NULL DEFAULT 0,
    deaths         INTEGER NOT NULL DEFAULT 0,
    matches        INTEGER NOT NULL DEFAULT 0,
    best_streak    INTEGER NOT NULL DEFAULT 0,
    seconds_played INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX career_kills ON career (kills DESC);

CREATE TABLE kills (
    id     INTEGER PRIMARY KEY,
    at     INTEGER NOT NULL,
    killer TEXT    NOT NULL REFERENCES players (key),
    victim TEXT    NOT NULL REFERENCES players (key)
);
CREATE INDEX kills_at ON kills (at);

-- One row per committed writer batch: a batch retried after an unclear commit (the connection
-- died during COMMIT) finds its id here and is not applied twice.
CREATE TABLE write_batches (
    id         TEXT    NOT NULL PRIMARY KEY,
    written_at INTEGER NOT NULL
);
CREATE INDEX write_batches_written_at ON write_batches (written_at);

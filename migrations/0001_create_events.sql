-- The outbox: every event the observer has seen, from the moment it is committed until it is pruned.
-- ids come from AUTOINCREMENT so they are never reused: the Redis watermark of a queue is an id, and an
-- id handed out twice could fall below it and be skipped.

CREATE TABLE outbox_meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE events (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    queue           TEXT    NOT NULL,
    counter         TEXT,
    directory       TEXT    NOT NULL,
    filename        BLOB    NOT NULL,
    event           TEXT    NOT NULL CHECK (event IN ('created', 'exists')),
    event_timestamp REAL    NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'pending'
                            CHECK (state IN ('pending', 'delivered', 'skipped', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    created_at      REAL    NOT NULL,
    delivered_at    REAL,
    replay_of       INTEGER
);

-- The forwarder reads each queue's oldest pending events; listings count and look up pending events.
CREATE INDEX events_pending_by_queue ON events (queue, id) WHERE state = 'pending';

-- Inspection and purge select by state and event time.
CREATE INDEX events_by_state_time ON events (state, event_timestamp);

-- Pruning finds delivered and skipped events by the time they were settled.
CREATE INDEX events_settled_by_time ON events (delivered_at) WHERE state IN ('delivered', 'skipped');

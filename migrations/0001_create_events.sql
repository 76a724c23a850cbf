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

-- Every index here is paid for on the hot paths: an insert touches the table, events_by_queue and the
-- pending index; marking an event delivered touches the table and the pending index only (an index on
-- state or on delivered_at would have to move on every delivery, tripling its cost). Rare states get
-- small partial indexes; inspection by time and pruning walk the table in id order instead.

-- The forwarder reads each queue's oldest pending events; listings count and look up pending events.
CREATE INDEX events_pending_by_queue ON events (queue, id) WHERE state = 'pending';

-- outbox stats: events per queue (delivered = all - pending - skipped - dead), without a table scan.
CREATE INDEX events_by_queue ON events (queue);
CREATE INDEX events_skipped_by_queue ON events (queue) WHERE state = 'skipped';
CREATE INDEX events_dead_by_queue ON events (queue, id) WHERE state = 'dead';

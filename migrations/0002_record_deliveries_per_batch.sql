-- Delivery is recorded once per batch instead of once per event. Marking a row delivered used to move it
-- out of the pending index: about 4 µs per event inside SQLite, more than reading, encoding and pushing
-- it together. Now a delivered batch adds one row to `deliveries`, and a row keeps the stored state
-- 'pending' after it is delivered:
--
--   an event whose stored state is 'pending' is delivered when a row of `deliveries` for its queue has
--   through_id >= its id; its delivered_at is that of the first such row (lowest through_id).
--
-- Every other state ('skipped', 'dead', and 'delivered' as rows of schema 1 recorded it) is stored on the
-- row itself, as before. The forwarder delivers each queue in id order, so per queue the delivered events
-- are those up to the highest through_id, and the pending ones lie above it.
--
-- To read the states by hand:
--   SELECT id, CASE WHEN state = 'pending' AND id <= coalesce((SELECT max(through_id) FROM deliveries d
--          WHERE d.queue = events.queue), 0) THEN 'delivered' ELSE state END AS state FROM events;

CREATE TABLE deliveries (
    queue        TEXT    NOT NULL,
    through_id   INTEGER NOT NULL,
    delivered_at REAL    NOT NULL,
    PRIMARY KEY (queue, through_id)
) WITHOUT ROWID;

-- Schema 1 marked each row. Record what it delivered as one delivery per queue, up to the queue's oldest
-- pending event (or its newest event when none is pending), dated by the newest delivered_at it covers,
-- so pruning ages those rows as before.
INSERT INTO deliveries (queue, through_id, delivered_at)
SELECT queue, through_id,
       coalesce((SELECT max(delivered_at) FROM events covered
                 WHERE covered.queue = settled.queue AND covered.id <= settled.through_id),
                (julianday('now') - 2440587.5) * 86400.0)
FROM (SELECT queue,
             coalesce((SELECT min(id) - 1 FROM events pending
                       WHERE pending.queue = events.queue AND pending.state = 'pending'),
                      max(id)) AS through_id
      FROM events GROUP BY queue) AS settled
WHERE through_id > 0;

-- The events table is rebuilt for two reasons, both measured per insert: its CHECK constraints written
-- as `x IN (...)` cost SQLite about 1 µs per row (as much as the rest of the insert), the same checks
-- written with OR cost next to nothing; and four indexes become one. The AUTOINCREMENT counter is carried
-- over, so no id is ever handed out twice.
CREATE TABLE events_v2 (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    queue           TEXT    NOT NULL,
    counter         TEXT,
    directory       TEXT    NOT NULL,
    filename        BLOB    NOT NULL,
    event           TEXT    NOT NULL CHECK (event = 'created' OR event = 'exists'),
    event_timestamp REAL    NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'pending'
                            CHECK (state = 'pending' OR state = 'delivered' OR state = 'skipped' OR state = 'dead'),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    created_at      REAL    NOT NULL,
    delivered_at    REAL,
    replay_of       INTEGER
);
INSERT INTO events_v2 SELECT id, queue, counter, directory, filename, event, event_timestamp, state, attempts,
    last_error, created_at, delivered_at, replay_of FROM events;
DELETE FROM sqlite_sequence WHERE name = 'events_v2';
INSERT INTO sqlite_sequence (name, seq) SELECT 'events_v2', seq FROM sqlite_sequence WHERE name = 'events';
DROP TABLE events;
ALTER TABLE events_v2 RENAME TO events;

-- One index serves every path now that a delivery no longer changes a row: the forwarder reads a queue's
-- pending events in id order (queue, 'pending', id above the last delivery), listings look up pending
-- names, `outbox stats` counts per queue and state, and pruning finds a queue's oldest settled events.
-- An insert touches the table and this index only.
CREATE INDEX events_by_queue_state ON events (queue, state);

/// The outbox's side of reconciling with the watermarks Redis holds (SPEC §8): reading how far a queue is
/// recorded as delivered, making delivered events pending again when Redis lost them, and giving pending
/// events new ids when the outbox's history diverged from Redis's. Each change runs in one transaction on
/// the caller's connection; the caller makes sure no delivery mark of its own is still queued in the writer.
extension OutboxStore {
    /// What `reopenDeliveries` did.
    public struct Reopened: Sendable, Equatable {
        /// Events pending again, to be pushed again.
        public var resent: Int
        /// Events that would have been resent but whose file is gone: marked `skipped`.
        public var skipped: Int
        /// Ids in the reopened range no longer in the outbox (pruned or purged; with several queues an
        /// upper bound for this queue, as ids are shared).
        public var pruned: Int
    }

    /// The highest id of `queue` recorded as delivered (0 when none).
    public func deliveredThrough(queue: String) throws(SQLiteError) -> Int64 {
        let select = try statement("SELECT \(EventStateSQL.deliveredThrough(queueParameter: 1))")
        defer { select.reset() }
        try select.bind(queue, at: 1)
        return try select.step() ? select.int64(0) : 0
    }

    /// Every queue the outbox knows: with events or with a recorded delivery, in name order.
    public func knownQueues() throws(SQLiteError) -> [String] {
        Array(Set(try distinctQueues(in: .events)).union(try distinctQueues(in: .deliveries))).sorted()
    }

    /// Redis holds `queue` only through `found`: every event of the queue above it that was recorded
    /// delivered becomes pending again, oldest first before anything newer (ids keep their order). An
    /// event whose file `isGone` is marked `skipped` instead. The files are looked at before the write
    /// transaction, so a slow file system (a check per event) never holds the outbox's write lock; a file
    /// that goes in between is resent (a possible duplicate), never lost.
    public func reopenDeliveries(
        queue: String, above found: Int64, at time: Double, isGone: (String, [UInt8]) -> Bool
    ) throws -> Reopened {
        let gone = try goneFiles(queue: queue, above: found, through: try deliveredThrough(queue: queue), isGone)
        return try connection.transaction { () throws(SQLiteError) -> Reopened in
            let delivered = try deliveredThrough(queue: queue)
            // Rows of schema 1 kept their own 'delivered' state.
            try statement(
                """
                UPDATE events SET state = 'pending', delivered_at = NULL
                WHERE queue = ? AND state = 'delivered' AND id > ?
                """
            ).run([.text(queue), .integer(found)])
            try statement("DELETE FROM deliveries WHERE queue = ? AND through_id > ?").run([
                .text(queue), .integer(found),
            ])
            if found > 0 {
                try statement(
                    """
                    INSERT INTO deliveries (queue, through_id, delivered_at)
                    SELECT ?1, ?2, ?3 WHERE ?2 > \(EventStateSQL.deliveredThrough(queueParameter: 1))
                    """
                ).run([.text(queue), .integer(found), .real(time)])
            }
            let upper = max(delivered, found)
            let select = try statement(
                """
                SELECT id, directory, filename FROM events INDEXED BY events_by_queue_state
                WHERE queue = ? AND state = 'pending' AND id > ? AND id <= ? ORDER BY id
                """)
            try select.bind([.text(queue), .integer(found), .integer(upper)])
            var skipped: [Int64] = []
            var reopened = 0
            while try select.step() {
                reopened += 1
                if gone.contains(select.int64(0)) { skipped.append(select.int64(0)) }
            }
            select.reset()
            let skip = try statement(
                "UPDATE events SET state = 'skipped', last_error = ?, delivered_at = ? WHERE id = ?")
            for id in skipped {
                try skip.run([.text("file gone before it was resent"), .real(time), .integer(id)])
            }
            let present = try statement("SELECT count(*) FROM events WHERE id > ? AND id <= ?")
            defer { present.reset() }
            try present.bind([.integer(found), .integer(upper)])
            let inRange = try present.step() ? present.int64(0) : 0
            return Reopened(
                resent: reopened - skipped.count, skipped: skipped.count, pruned: Int(max(0, upper - found - inRange)))
        }
    }

    /// The ids of the queue's settled-as-delivered events in (`found`, `through`] whose file `isGone`,
    /// read outside any transaction.
    private func goneFiles(
        queue: String, above found: Int64, through: Int64, _ isGone: (String, [UInt8]) -> Bool
    ) throws(SQLiteError) -> Set<Int64> {
        let select = try statement(
            """
            SELECT id, directory, filename FROM events INDEXED BY events_by_queue_state
            WHERE queue = ? AND (state = 'pending' OR state = 'delivered') AND id > ? AND id <= ? ORDER BY id
            """)
        defer { select.reset() }
        try select.bind([.text(queue), .integer(found), .integer(max(through, found))])
        var gone: Set<Int64> = []
        while try select.step() {
            if isGone(select.text(1), select.blob(2)) { gone.insert(select.int64(0)) }
        }
        return gone
    }

    /// The outbox is behind Redis and its ids up to `watermark` no longer name what Redis got: every pending
    /// event of `queue` gets a new id above `watermark` and above every id ever issued (in the same order),
    /// the id counter moves past them, and the queue is recorded delivered through `watermark`, so the
    /// delivery script takes the queue's next batch. Returns how many events got new ids.
    public func renumberPending(queue: String, above watermark: Int64, at time: Double) throws -> Int {
        try connection.transaction { () throws(SQLiteError) -> Int in
            let delivered = try deliveredThrough(queue: queue)
            let highest = max(try highestIDEverIssued(), watermark)
            var moved = 0
            if let oldest = try oldestPendingID(queue: queue) {
                let shift = highest - oldest + 1
                try statement(
                    """
                    UPDATE events SET id = id + ?3 WHERE queue = ?1 AND state = 'pending' AND id > ?2
                    """
                ).run([.text(queue), .integer(delivered), .integer(shift)])
                moved = connection.changes
            }
            try raiseIDCounter(to: watermark)
            try statement(
                """
                INSERT INTO deliveries (queue, through_id, delivered_at)
                SELECT ?1, ?2, ?3 WHERE ?2 > \(EventStateSQL.deliveredThrough(queueParameter: 1))
                """
            ).run([.text(queue), .integer(watermark), .real(time)])
            return moved
        }
    }

    /// Makes sure the next id handed out is above `id` and above every id in the table.
    public func raiseIDCounter(to id: Int64) throws(SQLiteError) {
        try statement(
            """
            UPDATE sqlite_sequence SET seq = max(seq, ?1, coalesce((SELECT max(id) FROM events), 0))
            WHERE name = 'events'
            """
        ).run([.integer(id)])
        if connection.changes == 0 {
            try statement(
                """
                INSERT INTO sqlite_sequence (name, seq)
                SELECT 'events', max(?1, coalesce((SELECT max(id) FROM events), 0))
                """
            ).run([.integer(id)])
        }
    }
}

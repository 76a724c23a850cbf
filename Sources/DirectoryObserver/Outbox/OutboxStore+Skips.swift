extension OutboxStore {
    /// Marks events `skipped` (with the reason) that are still pending, in one transaction on the caller's
    /// connection. The forwarder records its skip decisions this way before it sends the batch: the
    /// delivery mark that follows the script may be lost in a crash, and the reconnect then marks every
    /// event up to Redis's watermark delivered; a skipped event must not read as delivered then.
    public func recordSkips(_ skipped: [SkippedEvent], at time: Double) throws {
        guard !skipped.isEmpty else { return }
        try connection.transaction { () throws(SQLiteError) -> Void in
            let skip = try statement(
                """
                UPDATE events SET state = 'skipped', last_error = ?, delivered_at = ?
                WHERE id = ? AND state = 'pending'
                """
            )
            for event in skipped {
                try skip.run([.text(event.reason), .real(time), .integer(event.id)])
            }
        }
    }
}

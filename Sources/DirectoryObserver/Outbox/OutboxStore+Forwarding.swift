import CDirObsSQLite

/// A pending event as the forwarder needs it: the id, the counter, the kind and the exact message bytes,
/// encoded straight from SQLite's buffers (no intermediate strings on the drain path).
public struct PendingMessage: Sendable {
    public let id: Int64
    public let counter: String?
    public let kind: EventKind
    public let message: [UInt8]
    /// Where the file is, kept for `exists` events only (the forwarder checks the file is still there).
    public let directory: String?
    public let filename: [UInt8]?
}

extension OutboxStore {
    /// The oldest pending events of `queue` with an id above `afterID`, at most `limit`, in id order,
    /// with their messages encoded.
    public func pendingMessages(queue: String, afterID: Int64, limit: Int) throws(SQLiteError) -> [PendingMessage] {
        let select = try statement(
            """
            SELECT id, counter, directory, filename, event, event_timestamp FROM events
            INDEXED BY events_by_queue_state WHERE \(Self.pendingAfter) ORDER BY id LIMIT ?3
            """)
        defer { select.reset() }
        try select.bind([.text(queue), .integer(afterID), .integer(Int64(limit))])
        var messages: [PendingMessage] = []
        messages.reserveCapacity(limit)
        while try select.step() {
            let kind: EventKind = select.text(4) == EventKind.exists.rawValue ? .exists : .created
            let timestamp = select.double(5)
            let message = select.withBytes(2) { directory in
                select.withBytes(3) { filename in
                    EventMessage.encode(directory: directory, filename: filename, event: kind.rawValue, timestamp: timestamp)
                }
            }
            messages.append(
                PendingMessage(
                    id: select.int64(0), counter: select.optionalText(1), kind: kind, message: message,
                    directory: kind == .exists ? select.text(2) : nil, filename: kind == .exists ? select.blob(3) : nil))
        }
        return messages
    }
}

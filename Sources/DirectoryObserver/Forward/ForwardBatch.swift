import Glibc

/// A run of pending events of one queue, oldest first, that goes to Redis as one script call. All events
/// of a batch share the counter key (a batch is cut where the counter changes). Its message arguments
/// are encoded for the wire once, straight from SQLite's buffers, into one buffer.
struct ForwardBatch {
    /// Where an `exists` event's file is (checked just before forwarding), and when a listing saw it.
    struct FileLocation {
        let directory: String
        let name: [UInt8]
        /// The event's timestamp: a listing takes it before it reads the directory.
        let seenAt: Double
    }

    /// One event of the batch.
    struct Event {
        let id: Int64
        let kind: EventKind
        /// Where its encoded message argument lies in the batch's buffer.
        let arguments: Range<Int>
        /// For `exists` events only.
        let file: FileLocation?
        /// When the event was committed to the outbox (`created_at`), for the delivery latency.
        let committedAt: Double
    }

    /// A batch's two buffers. A forwarder hands those of finished batches to the next ones, so a drain
    /// does not allocate (and fault in) a few megabytes of fresh memory every round.
    struct Storage {
        var events: [Event] = []
        var encoded: [UInt8] = []
        /// The `MessageFingerprint` of the last event (while reading: the last name read).
        var lastFingerprint: [UInt8] = []
    }

    let queue: String
    let counter: String?
    private var storage: Storage
    var events: [Event] { storage.events }
    /// The RESP bulk strings of the messages of `events`, in order.
    private var encoded: [UInt8] { storage.encoded }
    /// Events not pushed on purpose, decided just before the round trip.
    private(set) var skipped: [SkippedEvent] = []
    /// Whether the read may have stopped before the queue's last pending event (it took the limit, or
    /// stopped where the counter changes): the queue may have more to send without any new commit.
    private(set) var mayHaveMore = false

    var ids: ClosedRange<Int64> { events.first!.id...events.last!.id }
    var hasExists: Bool { events.contains { $0.kind == .exists } }

    /// Takes `storage` over: the caller keeps no copy, so emptying it keeps its memory instead of copying it.
    private init(queue: String, counter: String?, storage: consuming Storage) {
        self.queue = queue
        self.counter = counter
        self.storage = consume storage
        self.storage.events.removeAll(keepingCapacity: true)
        self.storage.encoded.removeAll(keepingCapacity: true)
    }

    /// The buffers, for a later batch to reuse.
    var releasedStorage: Storage { storage }

    /// The oldest pending events of `queue` above `afterID`, at most `limit`, up to the first whose
    /// counter differs from the first one's; nil when none is pending. The batch takes its buffers from
    /// `spares` (the last one), and only when it has a first event.
    static func read(
        from store: OutboxStore, queue: String, afterID: Int64, limit: Int, reusing spares: inout [Storage]
    ) throws(SQLiteError) -> ForwardBatch? {
        var batch: ForwardBatch?
        var counterBytes: [UInt8]?
        var encoder = MessageBulkEncoder()
        var lastTimestamp = 0.0
        let visited = try store.visitPending(queue: queue, afterID: afterID, limit: limit) { row in
            if batch == nil {
                let counter = row.counter
                var first = ForwardBatch(queue: queue, counter: counter, storage: spares.popLast() ?? Storage())
                first.storage.events.reserveCapacity(limit)
                first.storage.encoded.reserveCapacity(limit * 200)
                batch = first
                counterBytes = counter.map { Array($0.utf8) }
            } else {
                let sameCounter =
                    row.hasCounter
                    ? row.withCounter { bytes in counterBytes.map { bytesEqual($0, bytes) } ?? false }
                    : counterBytes == nil
                if !sameCounter { return false }
            }
            batch?.append(row, encoder: &encoder)
            lastTimestamp = row.timestamp
            return true
        }
        guard var batch, let last = batch.events.last else { return nil }
        batch.mayHaveMore = visited == limit || visited > batch.events.count
        let name = batch.storage.lastFingerprint
        MessageFingerprint.append(id: last.id, timestamp: lastTimestamp, name: name, to: &batch.storage.lastFingerprint)
        return batch
    }

    /// `read(from:queue:afterID:limit:reusing:)` in new buffers.
    static func read(from store: OutboxStore, queue: String, afterID: Int64, limit: Int) throws(SQLiteError)
        -> ForwardBatch?
    {
        var none: [Storage] = []
        return try read(from: store, queue: queue, afterID: afterID, limit: limit, reusing: &none)
    }

    /// Encodes one event for the wire and keeps what the round needs of it.
    private mutating func append(_ row: PendingEventRow, encoder: inout MessageBulkEncoder) {
        let id = row.id
        let kind = row.kind
        let timestamp = row.timestamp
        let start = storage.encoded.count
        row.withDirectory { directory in
            row.withFilename { filename in
                encoder.appendBulk(
                    directory: directory, filename: filename, kind: kind, timestamp: timestamp, to: &storage.encoded)
                // Only the last event's fingerprint is sent: keep its name, format it once at the end.
                storage.lastFingerprint.removeAll(keepingCapacity: true)
                storage.lastFingerprint.append(contentsOf: filename)
            }
        }
        let file = kind == .exists ? FileLocation(directory: row.directory, name: row.filename, seenAt: timestamp) : nil
        storage.events.append(
            Event(
                id: id, kind: kind, arguments: start..<storage.encoded.count, file: file, committedAt: row.committedAt))
    }

    /// SPEC §5 at forward time: an `exists` event is skipped when its file is gone, or when pushing it would
    /// make the list longer than `limit`. `created` events are always pushed (and take room in the list).
    /// A file is looked up only when `DirectoryChanges` cannot vouch that its directory lost no entry since
    /// the listing saw it.
    mutating func decideSkips(limit: Int?, listLength: Int) {
        var room = limit.map { $0 - listLength } ?? Int.max
        var directories = DirectoryChanges()
        for event in events {
            if let file = event.file {
                let stillThere =
                    directories.unchanged(file.directory, since: file.seenAt)
                    || Self.fileExists(directory: file.directory, name: file.name)
                if !stillThere {
                    skipped.append(SkippedEvent(id: event.id, reason: "file gone before it was forwarded"))
                    continue
                }
                if room <= 0 {
                    skipped.append(SkippedEvent(id: event.id, reason: "list over poll_queue_limit"))
                    continue
                }
            }
            room -= 1
        }
    }

    /// The keys of a queue the delivery script works on, besides the queue and the counter.
    struct ScriptKeys {
        let watermark: String
        let fingerprint: String
    }

    /// Appends `EVALSHA sha numkeys queue watermark fingerprint [counter] expected lastID fingerprint
    /// message1 message2 …` for the events that are not skipped (see `DeliveryScript`). `expected` is
    /// the watermark the outbox expects Redis to hold for the queue.
    func appendScriptCall(to commands: inout RESPCommands, sha: [UInt8], keys scriptKeys: ScriptKeys, expected: Int64) {
        let keys = counter == nil ? 3 : 4
        commands.begin(argumentCount: 6 + keys + events.count - skipped.count)
        commands.argument("EVALSHA")
        sha.withUnsafeBufferPointer { commands.argument($0) }
        commands.argument(String(keys))
        commands.argument(queue)
        commands.argument(scriptKeys.watermark)
        commands.argument(scriptKeys.fingerprint)
        if let counter { commands.argument(counter) }
        commands.argument(String(expected))
        commands.argument(String(ids.upperBound))
        storage.lastFingerprint.withUnsafeBufferPointer { commands.argument($0) }
        if skipped.isEmpty {
            commands.encodedArguments(encoded[...])
            return
        }
        let skippedIDs = Set(skipped.map(\.id))
        for event in events where !skippedIDs.contains(event.id) {
            commands.encodedArguments(encoded[event.arguments])
        }
    }

    /// Whether `directory/name` exists (the name is raw bytes, so the path is built as bytes).
    static func fileExists(directory: String, name: [UInt8]) -> Bool {
        var path = Array(directory.utf8)
        path.append(UInt8(ascii: "/"))
        path.append(contentsOf: name)
        path.append(0)
        return path.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { access($0.baseAddress!, F_OK) == 0 }
        }
    }
}

import Glibc

/// A run of pending events of one queue, oldest first, that goes to Redis as one script call. All events
/// of a batch share the counter key (a batch is cut where the counter changes).
struct ForwardBatch {
    let queue: String
    let counter: String?
    let events: [PendingMessage]
    /// Events not pushed on purpose, decided just before the round trip.
    private(set) var skipped: [SkippedEvent] = []

    var ids: ClosedRange<Int64> { events.first!.id...events.last!.id }
    var hasExists: Bool { events.contains { $0.kind == .exists } }

    /// The leading run of `events` that shares the first event's counter.
    init(queue: String, events: [PendingMessage]) {
        let counter = events.first?.counter
        self.queue = queue
        self.counter = counter
        self.events = Array(events.prefix { $0.counter == counter })
    }

    /// SPEC §5 at forward time: an `exists` event is skipped when its file is gone, or when pushing it would
    /// make the list longer than `limit`. `created` events are always pushed (and take room in the list).
    mutating func decideSkips(limit: Int?, listLength: Int) {
        var room = limit.map { $0 - listLength } ?? Int.max
        for event in events {
            if event.kind == .exists, let directory = event.directory, let filename = event.filename {
                if !Self.fileExists(directory: directory, name: filename) {
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

    /// The events that go to Redis.
    var eventsToPush: [PendingMessage] {
        guard !skipped.isEmpty else { return events }
        let skippedIDs = Set(skipped.map(\.id))
        return events.filter { !skippedIDs.contains($0.id) }
    }

    /// `EVALSHA sha numkeys queue watermark [counter] id1 message1 id2 message2 …`.
    func scriptCall(sha: [UInt8], watermarkKey: String) -> [[UInt8]] {
        let pushed = eventsToPush
        var arguments: [[UInt8]] = []
        arguments.reserveCapacity(5 + pushed.count * 2)
        arguments.append(Array("EVALSHA".utf8))
        arguments.append(sha)
        arguments.append(Array((counter == nil ? "2" : "3").utf8))
        arguments.append(Array(queue.utf8))
        arguments.append(Array(watermarkKey.utf8))
        if let counter { arguments.append(Array(counter.utf8)) }
        for event in pushed {
            arguments.append(Array(String(event.id).utf8))
            arguments.append(event.message)
        }
        return arguments
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

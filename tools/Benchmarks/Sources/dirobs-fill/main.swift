// usage: dirobs-fill OUTBOX COUNT
// Creates the outbox at OUTBOX (it must not exist) and fills it with COUNT events in one transaction,
// spread over three queues (bench:a, bench:b, bench:c) in mixed states, the way the forwarder leaves them:
// the oldest 80% settled (per eight: six delivered, one skipped, one dead, delivered a thousand ids at a
// time), the newest 20% pending. For benchmarks such as tools/bench-stats, not for production.
import DirectoryObserver
import Foundation

let arguments = CommandLine.arguments
guard arguments.count == 3, let count = Int(arguments[2]), count >= 0 else {
    FileHandle.standardError.write(Data("usage: dirobs-fill OUTBOX COUNT\n".utf8))
    exit(64)
}
let path = arguments[1]
guard !FileManager.default.fileExists(atPath: path) else {
    FileHandle.standardError.write(Data("dirobs-fill: \(path) exists; give a new path\n".utf8))
    exit(1)
}

do {
    let store = OutboxStore(connection: try OutboxFile.open(path: path, access: .daemon, sync: .normal))
    let queues = ["bench:a", "bench:b", "bench:c"]
    let start = Clock.now() - Double(count) * 0.001
    try store.connection.transaction { () throws(SQLiteError) in
        for index in 0..<count {
            let timestamp = start + Double(index) * 0.001
            let event = NewEvent(
                queue: queues[index % queues.count], counter: nil, directory: "/data/incoming",
                filename: Array("file-\(index).dat".utf8), kind: index % 7 == 0 ? .exists : .created,
                timestamp: timestamp)
            try store.insert(event, createdAt: timestamp)
        }
        // Events are inserted in order into a new outbox, so event number `index` has id `index + 1`.
        let settled = count * 8 / 10
        try store.connection.execute(
            """
            UPDATE events SET
                state = CASE id % 8 WHEN 6 THEN 'skipped' ELSE 'dead' END,
                delivered_at = CASE id % 8 WHEN 6 THEN created_at END,
                attempts = CASE id % 8 WHEN 7 THEN 5 ELSE 0 END,
                last_error = CASE id % 8
                             WHEN 7 THEN 'WRONGTYPE Operation against a key holding the wrong kind of value'
                             ELSE 'list limit' END
            WHERE id <= \(settled) AND id % 8 IN (6, 7)
            """)
        for through in Array(stride(from: 1_000, to: settled, by: 1_000)) + [settled] where through > 0 {
            for queue in queues {
                try store.markDelivered(queue: queue, upTo: Int64(through), at: start + Double(through) * 0.001)
            }
        }
    }
    try store.close()
    print("dirobs-fill: \(count) events in \(path)")
} catch {
    FileHandle.standardError.write(Data("dirobs-fill: \(error)\n".utf8))
    exit(1)
}

// usage: dirobs-fill OUTBOX COUNT
// Creates the outbox at OUTBOX (it must not exist) and fills it with COUNT events in one transaction,
// spread over three queues (bench:a, bench:b, bench:c) in mixed states: per ten events, six delivered,
// two pending, one skipped, one dead. For benchmarks such as tools/bench-stats, not for production.
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
    try store.connection.transaction {
        for index in 0..<count {
            let timestamp = start + Double(index) * 0.001
            let event = NewEvent(
                queue: queues[index % queues.count], counter: nil, directory: "/data/incoming",
                filename: Array("file-\(index).dat".utf8), kind: index % 7 == 0 ? .exists : .created,
                timestamp: timestamp)
            try store.insert(event, createdAt: timestamp)
        }
        // The state cycles with the id: 6 delivered, 2 pending, 1 skipped, 1 dead per ten events.
        try store.connection.execute(
            """
            UPDATE events SET
                state = CASE id % 10 WHEN 6 THEN 'pending' WHEN 7 THEN 'pending' WHEN 8 THEN 'skipped'
                        WHEN 9 THEN 'dead' ELSE 'delivered' END,
                delivered_at = CASE WHEN id % 10 IN (6, 7) THEN NULL ELSE created_at END,
                attempts = CASE id % 10 WHEN 9 THEN 5 ELSE 0 END,
                last_error = CASE id % 10
                             WHEN 9 THEN 'WRONGTYPE Operation against a key holding the wrong kind of value'
                             WHEN 8 THEN 'list limit' END
            """)
    }
    try store.close()
    print("dirobs-fill: \(count) events in \(path)")
} catch {
    FileHandle.standardError.write(Data("dirobs-fill: \(error)\n".utf8))
    exit(1)
}

import DirectoryObserver

/// Realistic file names of 20–40 bytes: a few producers' naming schemes, all different.
func fileName(_ index: Int) -> [UInt8] {
    let stamp = 20_261_125_000_000 + index
    switch index % 4 {
    case 0: return Array("img_\(stamp).jpg".utf8)
    case 1: return Array("T_PAAA40_C_LFPW_\(stamp).grb".utf8)
    case 2: return Array("report-\(index).csv".utf8)
    default: return Array("obs_station\(index % 997)_\(stamp).dat".utf8)
    }
}

/// Fills a new outbox with `count` pending events, 100,000 per transaction.
func buildBacklog(path: String, count: Int) throws -> Double {
    let started = Clock.monotonic()
    let store = OutboxStore(connection: try OutboxFile.open(path: path, access: .daemon))
    defer { try? store.close() }
    let now = Clock.now()
    var next = 0
    while next < count {
        let end = min(next + 100_000, count)
        try store.connection.transaction { () throws(SQLiteError) in
            for index in next..<end {
                let first = index % 2 == 0
                let event = NewEvent(
                    queue: first ? "bench:incoming" : "bench:reports", counter: first ? "bench:incoming:count" : nil,
                    directory: first ? "/srv/data/incoming" : "/srv/data/reports", filename: fileName(index),
                    kind: .created, timestamp: now + Double(index) / 1_000_000)
                try store.insert(event, createdAt: now)
            }
        }
        next = end
    }
    return Clock.monotonic() - started
}

import DirectoryObserver
import Foundation

/// Builds outbox files for the operator-tool tests the way the daemon creates them, and fingerprints
/// files so a test can prove a command changed nothing.
enum OutboxFiles {
    /// One event to put in a test outbox.
    struct Row {
        var queue = "q"
        var state: EventState = .pending
        var timestamp = 1_795_514_400.0
        var filename: [UInt8] = Array("file.dat".utf8)
        var kind: EventKind = .created
    }

    /// Creates the outbox at `path` with `rows` (ids 1, 2, … in order), closed when this returns.
    static func create(_ path: String, rows: [Row]) throws {
        let store = OutboxStore(connection: try OutboxFile.open(path: path, access: .daemon))
        try store.connection.transaction { () throws(SQLiteError) in
            for row in rows {
                let id = try store.insert(
                    NewEvent(
                        queue: row.queue, counter: nil, directory: "/data/in", filename: row.filename, kind: row.kind,
                        timestamp: row.timestamp),
                    createdAt: row.timestamp)
                if row.state != .pending {
                    try store.connection.prepare("UPDATE events SET state = ?, delivered_at = ? WHERE id = ?")
                        .run([.text(row.state.rawValue), .real(row.timestamp), .integer(id)])
                }
            }
        }
        try store.close()
    }

    /// The bytes of `path`, or nil when there is no such file.
    static func contents(_ path: String) -> Data? {
        FileManager.default.contents(atPath: path)
    }

    /// The names in `directory`, sorted.
    static func names(_ directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
    }
}

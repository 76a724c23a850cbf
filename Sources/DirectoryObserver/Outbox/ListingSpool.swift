import Glibc

/// The candidates of one listing, kept on disk in a private temporary SQLite database (SQLite deletes
/// its file when the spool goes away) and read back oldest modification time first, ties broken by
/// name, a chunk at a time: a listing's memory does not grow with the directory.
///
/// `@unchecked Sendable`: it is used by one thread at a time, by construction. The watcher thread
/// creates and fills it, then hands it over with `OutboxWriter.appendListing` and never touches it again;
/// from then on only the writer thread reads it. Nothing else holds a reference.
public final class ListingSpool: @unchecked Sendable {
    private let connection: SQLiteConnection
    private let insert: SQLiteStatement
    private var reader: SQLiteStatement?
    /// Set once the reader has returned its last row: stepping it again would start it over.
    private var exhausted = false
    /// Names added so far.
    public private(set) var count = 0

    /// Opens an empty spool.
    public init() throws(SQLiteError) {
        // An empty path is a private on-disk database of its own: no other process or connection sees it.
        connection = try SQLiteConnection(path: "", mode: .readWriteCreate)
        try connection.execute(
            """
            PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
            CREATE TABLE names (seconds INTEGER NOT NULL, nanoseconds INTEGER NOT NULL, name BLOB NOT NULL);
            BEGIN;
            """)
        insert = try connection.prepare("INSERT INTO names VALUES (?, ?, ?)")
    }

    /// Adds a candidate with its modification time.
    public func add(_ name: [UInt8], modified: timespec) throws(SQLiteError) {
        try insert.bind(Int64(modified.tv_sec), at: 1)
        try insert.bind(Int64(modified.tv_nsec), at: 2)
        try insert.bind(name, at: 3)
        _ = try insert.step()
        insert.reset()
        count += 1
    }

    /// The next `limit` names in order (oldest modification time first); empty once all were read.
    func next(_ limit: Int) throws(SQLiteError) -> [[UInt8]] {
        if reader == nil {
            reader = try connection.prepare("SELECT name FROM names ORDER BY seconds, nanoseconds, name")
        }
        guard let reader, !exhausted else { return [] }
        var names: [[UInt8]] = []
        names.reserveCapacity(min(limit, count))
        while names.count < limit {
            guard try reader.step() else {
                exhausted = true
                break
            }
            names.append(reader.blob(0))
        }
        return names
    }
}

import Glibc

/// The candidates of one listing, read back oldest modification time first, ties broken by name, a
/// chunk at a time. Up to `memoryLimit` candidates stay in memory (a small directory costs no more than
/// an array and a sort); past that they all move to a private temporary SQLite database on disk (SQLite
/// deletes its file when the spool goes away), so a listing's memory does not grow with the directory.
///
/// `@unchecked Sendable`: it is used by one thread at a time, by construction. The watcher thread
/// creates and fills it, then hands it over with `OutboxWriter.appendListing` and never touches it again;
/// from then on only the writer thread reads it. Nothing else holds a reference.
public final class ListingSpool: @unchecked Sendable {
    /// Candidates kept in memory before the spool moves to disk.
    public static let memoryLimit = 131_072

    private typealias Candidate = (seconds: Int, nanoseconds: Int, name: [UInt8])
    private var inMemory: [Candidate] = []
    private var sorted = false
    private var position = 0
    private var disk: DiskSpool?
    /// Names added so far.
    public private(set) var count = 0

    /// An empty spool.
    public init() {}

    /// Adds a candidate with its modification time.
    public func add(_ name: [UInt8], modified: timespec) throws(SQLiteError) {
        count += 1
        if let disk {
            try disk.add(name, modified: modified)
            return
        }
        inMemory.append((modified.tv_sec, modified.tv_nsec, name))
        if inMemory.count > Self.memoryLimit {
            let disk = try DiskSpool()
            for candidate in inMemory {
                try disk.add(candidate.name, modified: timespec(tv_sec: candidate.seconds, tv_nsec: candidate.nanoseconds))
            }
            inMemory = []
            self.disk = disk
        }
    }

    /// The next `limit` names in order (oldest modification time first); empty once all were read.
    func next(_ limit: Int) throws(SQLiteError) -> [[UInt8]] {
        if let disk { return try disk.next(limit) }
        if !sorted {
            inMemory.sort { left, right in
                if left.seconds != right.seconds { return left.seconds < right.seconds }
                if left.nanoseconds != right.nanoseconds { return left.nanoseconds < right.nanoseconds }
                return left.name.lexicographicallyPrecedes(right.name)
            }
            sorted = true
        }
        let end = min(position + limit, inMemory.count)
        defer { position = end }
        return inMemory[position..<end].map(\.name)
    }
}

/// The on-disk part of a `ListingSpool`: a private temporary SQLite database that sorts the candidates
/// on the way out. Not Sendable: its spool owns it.
private final class DiskSpool {
    private let connection: SQLiteConnection
    private let insert: SQLiteStatement
    private let groupInsert: SQLiteStatement
    /// Candidates added and not written yet: they go in `groupSize` rows per statement.
    private var buffered: [(name: [UInt8], modified: timespec)] = []
    private static let groupSize = 128
    private var reader: SQLiteStatement?
    /// Set once the reader has returned its last row: stepping it again would start it over.
    private var exhausted = false

    init() throws(SQLiteError) {
        // An empty path is a private on-disk database of its own: no other process or connection sees it.
        connection = try SQLiteConnection(path: "", mode: .readWriteCreate)
        try connection.execute(
            """
            PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
            CREATE TABLE names (seconds INTEGER NOT NULL, nanoseconds INTEGER NOT NULL, name BLOB NOT NULL);
            BEGIN;
            """)
        insert = try connection.prepare("INSERT INTO names VALUES (?, ?, ?)")
        groupInsert = try connection.prepare(
            "INSERT INTO names VALUES " + Array(repeating: "(?, ?, ?)", count: Self.groupSize).joined(separator: ", "))
        buffered.reserveCapacity(Self.groupSize)
    }

    func add(_ name: [UInt8], modified: timespec) throws(SQLiteError) {
        buffered.append((name, modified))
        if buffered.count == Self.groupSize { try writeBuffered() }
    }

    /// Writes the buffered candidates: whole groups with one statement, the rest one by one.
    private func writeBuffered() throws(SQLiteError) {
        let statement = buffered.count == Self.groupSize ? groupInsert : insert
        var parameter: Int32 = 1
        for (name, modified) in buffered {
            try statement.bind(Int64(modified.tv_sec), at: parameter)
            try statement.bind(Int64(modified.tv_nsec), at: parameter + 1)
            try statement.bind(name, at: parameter + 2)
            parameter += 3
            if statement === insert {
                _ = try statement.step()
                statement.reset()
                parameter = 1
            }
        }
        if statement === groupInsert {
            _ = try statement.step()
            statement.reset()
        }
        buffered.removeAll(keepingCapacity: true)
    }

    /// The next `limit` names in order (oldest modification time first); empty once all were read. The
    /// first call sorts the whole spool (SQLite's sorter, on disk past a few megabytes).
    func next(_ limit: Int) throws(SQLiteError) -> [[UInt8]] {
        if reader == nil {
            try writeBuffered()
            reader = try connection.prepare("SELECT name FROM names ORDER BY seconds, nanoseconds, name")
        }
        guard let reader, !exhausted else { return [] }
        var names: [[UInt8]] = []
        names.reserveCapacity(limit)
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

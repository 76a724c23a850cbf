import Glibc

/// The candidates of one listing, read back oldest modification time first, ties broken by name, a
/// chunk at a time. Up to `runLength` candidates stay in memory (a small directory costs no more than
/// an array and a sort); past that, each `runLength` of them is sorted and written as a run to an
/// unnamed temporary file (`SpoolRunFile`), and the runs are merged on the way out. A listing's memory
/// is bounded whatever the directory's size: one run in memory while it is read, one buffer per merged
/// run while it is applied, and at most `SpoolRunFile.fanIn` runs are merged at once.
///
/// `@unchecked Sendable`: it is used by one thread at a time, by construction. The watcher thread
/// creates and fills it, then hands it over with `OutboxWriter.appendListing` and never touches it again;
/// from then on only the writer thread reads it. Nothing else holds a reference.
public final class ListingSpool: @unchecked Sendable {
    /// Candidates kept in memory before they are sorted and written out as a run.
    public static let memoryLimit = 131_072

    private let runLength: Int
    private let fanIn: Int
    /// The candidates not written out yet; their names are in `names`.
    private var entries: [SpoolEntry] = []
    private var names: [UInt8] = []
    /// Where the in-memory candidates are read from once sorted (when no run was written).
    private var position: Int?
    private var runFile: SpoolRunFile?
    private var merge: SpoolMerge?
    /// Names added so far.
    public private(set) var count = 0

    /// An empty spool that writes a run every `runLength` candidates and merges at most `fanIn` runs at
    /// once (tests set small values to reach the paths a large directory takes).
    public init(runLength: Int = ListingSpool.memoryLimit, fanIn: Int = SpoolRunFile.defaultFanIn) {
        precondition(
            runLength > 0 && fanIn > 1, "a spool needs runs of one candidate or more and a fan-in of two or more")
        self.runLength = runLength
        self.fanIn = fanIn
    }

    /// Adds a candidate with its modification time.
    public func add(_ name: [UInt8], modified: timespec) throws(SystemError) {
        precondition(position == nil && merge == nil, "a spool takes no candidate once it is read")
        count += 1
        entries.append(
            SpoolEntry(
                seconds: Int64(modified.tv_sec), nanoseconds: Int64(modified.tv_nsec), start: names.count,
                length: name.count))
        names.append(contentsOf: name)
        if entries.count >= runLength { try writeRun() }
    }

    /// The next `limit` names in order (oldest modification time first); empty once all were read.
    func next(_ limit: Int) throws(SystemError) -> [[UInt8]] {
        if position == nil && merge == nil {
            if let runFile {
                try writeRun()
                merge = try runFile.merged(fanIn: fanIn)
            } else {
                sortEntries()
                position = 0
            }
        }
        if merge != nil { return try merge!.next(limit) }
        let start = position!
        let end = min(start + limit, entries.count)
        position = end
        return entries[start..<end].map { entry in Array(names[entry.start..<(entry.start + entry.length)]) }
    }

    /// Sorts the candidates in memory and appends them to the run file as one run.
    private func writeRun() throws(SystemError) {
        guard !entries.isEmpty else { return }
        sortEntries()
        if runFile == nil { runFile = try SpoolRunFile() }
        let file = runFile!
        try file.appendRun(entries, names: names)
        entries.removeAll(keepingCapacity: true)
        names.removeAll(keepingCapacity: true)
    }

    private func sortEntries() {
        names.withUnsafeBufferPointer { names in
            entries.sort { SpoolEntry.precedes($0, in: names, $1, in: names) }
        }
    }
}

/// One candidate: its modification time and where its name lies in a buffer of names.
struct SpoolEntry {
    var seconds: Int64
    var nanoseconds: Int64
    var start: Int
    var length: Int

    /// Whether `left` (its name in `leftNames`) goes before `right`: older first, ties by name bytes.
    static func precedes(
        _ left: SpoolEntry, in leftNames: UnsafeBufferPointer<UInt8>,
        _ right: SpoolEntry, in rightNames: UnsafeBufferPointer<UInt8>
    ) -> Bool {
        if left.seconds != right.seconds { return left.seconds < right.seconds }
        if left.nanoseconds != right.nanoseconds { return left.nanoseconds < right.nanoseconds }
        let common = min(left.length, right.length)
        guard common > 0 else { return left.length < right.length }
        let order = memcmp(leftNames.baseAddress! + left.start, rightNames.baseAddress! + right.start, common)
        return order != 0 ? order < 0 : left.length < right.length
    }
}

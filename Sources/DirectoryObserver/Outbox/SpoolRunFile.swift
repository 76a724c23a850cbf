import Glibc

/// The on-disk part of a `ListingSpool`: sorted runs of candidates in one unnamed temporary file, in
/// `$TMPDIR`, else `/var/tmp`, else `/tmp`. The file has no name while the observer uses it (`O_TMPFILE`;
/// where the file system lacks it, it is unlinked right after it is made), so nothing is left behind,
/// even after `kill -9`, and its space is freed when the spool goes away.
///
/// A run is a byte range of records: the modification time's seconds (8 bytes) and nanoseconds (4), the
/// name's length (2), then the name, in this machine's byte order (the file never outlives the process).
/// Runs merged into a longer one keep their space until the spool goes away, so a directory of more
/// than `fanIn` runs takes about twice its records' size on disk for a while.
///
/// Not Sendable: its spool owns it.
public final class SpoolRunFile {
    /// Runs merged at once: the buffers of a merge take `fanIn` × `RunReader.bufferSize` bytes.
    public static let defaultFanIn = 32

    let descriptor: Int32
    private var runs: [Range<Int>] = []
    /// Where the next run starts.
    private var end = 0

    init() throws(SystemError) {
        descriptor = try Self.openUnnamed()
    }

    deinit {
        close(descriptor)
    }

    /// Appends `entries` (sorted, their names in `names`) as one run.
    func appendRun(_ entries: [SpoolEntry], names: [UInt8]) throws(SystemError) {
        var output = RunOutput(file: self)
        try names.withUnsafeBufferPointer { (names) throws(SystemError) in
            for entry in entries {
                try output.append(
                    seconds: entry.seconds, nanoseconds: entry.nanoseconds,
                    name: UnsafeBufferPointer(rebasing: names[entry.start..<(entry.start + entry.length)]))
            }
        }
        try output.finish()
    }

    /// A merge of every run. While more than `fanIn` runs remain, the oldest `fanIn` are first merged
    /// into one longer run at the file's end, so a merge never holds more than `fanIn` buffers.
    func merged(fanIn: Int) throws(SystemError) -> SpoolMerge {
        while runs.count > fanIn {
            let group = Array(runs.prefix(fanIn))
            runs.removeFirst(fanIn)
            var merge = try SpoolMerge(file: self, runs: group)
            var output = RunOutput(file: self)
            try merge.forEach { (seconds, nanoseconds, name) throws(SystemError) in
                try output.append(seconds: seconds, nanoseconds: nanoseconds, name: name)
            }
            try output.finish()
        }
        return try SpoolMerge(file: self, runs: runs)
    }

    /// Writes `bytes` at the file's end.
    fileprivate func write(_ bytes: [UInt8]) throws(SystemError) {
        var written = 0
        while written < bytes.count {
            written += try systemCall("pwrite(listing spool)") {
                bytes.withUnsafeBytes { raw in
                    pwrite(descriptor, raw.baseAddress! + written, raw.count - written, off_t(end + written))
                }
            }
        }
        end += bytes.count
    }

    fileprivate var writeOffset: Int { end }

    fileprivate func recordRun(_ run: Range<Int>) {
        if !run.isEmpty { runs.append(run) }
    }

    /// Opens a new file without a name in the first temporary directory that takes one.
    private static func openUnnamed() throws(SystemError) -> Int32 {
        var directories: [String] = []
        if let variable = getenv("TMPDIR"), variable.pointee != 0 { directories.append(String(cString: variable)) }
        directories += ["/var/tmp", "/tmp"]
        var lastError = SystemError(call: "open(temporary file)", errno: ENOENT)
        for directory in directories {
            // O_TMPFILE (`__O_TMPFILE | O_DIRECTORY`, not imported into Swift): a file that never has a name.
            let descriptor = open(directory, 0o20000000 | O_DIRECTORY | O_RDWR | O_CLOEXEC, 0o600)
            if descriptor >= 0 { return descriptor }
            lastError = SystemError(call: "open(\(directory), O_TMPFILE)", errno: errno)
            // The file system has no O_TMPFILE: a named file, unlinked at once.
            var template = Array("\(directory)/directory_observer-spool-XXXXXX".utf8CString)
            let named = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
            if named >= 0 {
                unlink(template)
                _ = fcntl(named, F_SETFD, FD_CLOEXEC)
                return named
            }
            lastError = SystemError(call: "mkstemp(\(directory))", errno: errno)
        }
        throw lastError
    }
}

/// A run being written: records gather in a buffer that goes to the file a megabyte at a time.
private struct RunOutput {
    private let file: SpoolRunFile
    private let start: Int
    private var buffer: [UInt8] = []
    private static let flushSize = 1 << 20

    init(file: SpoolRunFile) {
        self.file = file
        start = file.writeOffset
        buffer.reserveCapacity(Self.flushSize + RunReader.headerSize + 256)
    }

    mutating func append(seconds: Int64, nanoseconds: Int64, name: UnsafeBufferPointer<UInt8>) throws(SystemError) {
        // Unreachable from outside input: a name from readdir is at most NAME_MAX (255) bytes on Linux.
        precondition(name.count <= Int(UInt16.max), "a spooled name is at most 65,535 bytes")
        withUnsafeBytes(of: seconds) { buffer.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt32(truncatingIfNeeded: nanoseconds)) { buffer.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt16(name.count)) { buffer.append(contentsOf: $0) }
        buffer.append(contentsOf: name)
        if buffer.count >= Self.flushSize { try flush() }
    }

    private mutating func flush() throws(SystemError) {
        try file.write(buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    /// Writes what is left and records the run.
    mutating func finish() throws(SystemError) {
        try flush()
        file.recordRun(start..<file.writeOffset)
    }
}

/// Reads one run's records in order through a buffer of its own.
struct RunReader {
    static let headerSize = 14
    static let bufferSize = 1 << 16

    private var offset: Int
    private let end: Int
    private var buffer: [UInt8]
    /// Valid bytes in `buffer`.
    private var filled = 0
    /// Where the record after the head starts in `buffer`.
    private var position = 0
    /// The record read last; its name lies in `buffer`.
    private(set) var head = SpoolEntry(seconds: 0, nanoseconds: 0, start: 0, length: 0)

    init(run: Range<Int>) {
        offset = run.lowerBound
        end = run.upperBound
        buffer = Array(repeating: 0, count: Self.bufferSize)
    }

    /// Reads the next record into `head`; false at the run's end.
    mutating func advance(from descriptor: Int32) throws(SystemError) -> Bool {
        guard try ensure(Self.headerSize, from: descriptor) else { return false }
        var seconds: Int64 = 0
        var nanoseconds: UInt32 = 0
        var length: UInt16 = 0
        buffer.withUnsafeBytes { raw in
            seconds = raw.loadUnaligned(fromByteOffset: position, as: Int64.self)
            nanoseconds = raw.loadUnaligned(fromByteOffset: position + 8, as: UInt32.self)
            length = raw.loadUnaligned(fromByteOffset: position + 12, as: UInt16.self)
        }
        guard try ensure(Self.headerSize + Int(length), from: descriptor) else {
            throw SystemError(call: "read(listing spool): a record runs past its run's end", errno: EIO)
        }
        head = SpoolEntry(
            seconds: seconds, nanoseconds: Int64(nanoseconds), start: position + Self.headerSize, length: Int(length))
        position += Self.headerSize + Int(length)
        return true
    }

    /// The head record's name.
    func withHeadName<T>(_ body: (UnsafeBufferPointer<UInt8>) throws(SystemError) -> T) throws(SystemError) -> T {
        try buffer.withUnsafeBufferPointer { (all) throws(SystemError) in
            try body(UnsafeBufferPointer(rebasing: all[head.start..<(head.start + head.length)]))
        }
    }

    /// Whether this reader's head goes before `other`'s.
    func headPrecedes(_ other: RunReader) -> Bool {
        buffer.withUnsafeBufferPointer { mine in
            other.buffer.withUnsafeBufferPointer { theirs in SpoolEntry.precedes(head, in: mine, other.head, in: theirs)
            }
        }
    }

    /// Makes `count` bytes from `position` available, reading more of the run when needed (the head's
    /// name may move: it is read before the next `advance`). False when the run has fewer left.
    private mutating func ensure(_ count: Int, from descriptor: Int32) throws(SystemError) -> Bool {
        if filled - position >= count { return true }
        buffer.withUnsafeMutableBytes { raw in
            _ = memmove(raw.baseAddress!, raw.baseAddress! + position, filled - position)
        }
        filled -= position
        position = 0
        if buffer.count < count { buffer += Array(repeating: 0, count: count - buffer.count) }
        while filled < count && offset < end {
            let wanted = min(buffer.count - filled, end - offset)
            let read = try systemCall("pread(listing spool)") {
                buffer.withUnsafeMutableBytes { raw in
                    pread(descriptor, raw.baseAddress! + filled, wanted, off_t(offset))
                }
            }
            guard read > 0 else {
                throw SystemError(call: "pread(listing spool): the file ends before its last run", errno: EIO)
            }
            filled += read
            offset += read
        }
        return filled >= count
    }
}

/// Several runs merged into one sequence, oldest modification time first, ties by name.
struct SpoolMerge {
    private let file: SpoolRunFile
    /// The runs with records left, each at its next record.
    private var readers: [RunReader] = []

    init(file: SpoolRunFile, runs: [Range<Int>]) throws(SystemError) {
        self.file = file
        for run in runs {
            var reader = RunReader(run: run)
            if try reader.advance(from: file.descriptor) { readers.append(reader) }
        }
    }

    /// The next `limit` names; empty once every run is read.
    mutating func next(_ limit: Int) throws(SystemError) -> [[UInt8]] {
        var names: [[UInt8]] = []
        names.reserveCapacity(min(limit, 1 << 16))
        while names.count < limit, let first = firstReader() {
            names.append(try readers[first].withHeadName { Array($0) })
            try step(first)
        }
        return names
    }

    /// Hands every remaining record to `body`, in order.
    mutating func forEach(
        _ body: (_ seconds: Int64, _ nanoseconds: Int64, _ name: UnsafeBufferPointer<UInt8>) throws(SystemError) -> Void
    ) throws(SystemError) {
        while let first = firstReader() {
            let head = readers[first].head
            try readers[first].withHeadName { (name) throws(SystemError) in
                try body(head.seconds, head.nanoseconds, name)
            }
            try step(first)
        }
    }

    /// The reader whose head goes first (a linear search: there are at most `fanIn`).
    private func firstReader() -> Int? {
        guard !readers.isEmpty else { return nil }
        var first = 0
        for index in readers.indices.dropFirst() where readers[index].headPrecedes(readers[first]) {
            first = index
        }
        return first
    }

    private mutating func step(_ index: Int) throws(SystemError) {
        if !(try readers[index].advance(from: file.descriptor)) { readers.remove(at: index) }
    }
}

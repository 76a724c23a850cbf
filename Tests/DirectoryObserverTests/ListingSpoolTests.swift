import DirectoryObserverTestSupport
import Dispatch
import Foundation
import Glibc
import Synchronization
import Testing

@testable import DirectoryObserver

/// Listings of any size: candidates spooled on disk, read back oldest first, applied by the writer a
/// chunk per transaction with one budget for the whole listing.
@Suite("Outbox listings spooled on disk")
struct ListingSpoolTests {
    /// This test's own directory (a suite instance per test), removed when the test ends.
    private let directory = TemporaryDirectory()

    private func time(_ seconds: Int, _ nanoseconds: Int = 0) -> timespec {
        timespec(tv_sec: seconds, tv_nsec: nanoseconds)
    }

    /// Hands `listing` to `writer` and waits for its outcome.
    private func apply(_ listing: ListingRequest, to writer: OutboxWriter) -> ListingOutcome? {
        let outcome = Mutex<ListingOutcome?>(nil)
        let done = DispatchSemaphore(value: 0)
        writer.appendListing(listing) { result in
            outcome.withLock { $0 = result }
            done.signal()
        }
        guard done.wait(timeout: .now() + 60) == .success else { return nil }
        return outcome.withLock { $0 }
    }

    private func names(in path: String) throws -> [String] {
        let connection = try OutboxFile.open(path: path, access: .inspect)
        let select = try connection.prepare("SELECT filename FROM events WHERE event = 'exists' ORDER BY id")
        var names: [String] = []
        while try select.step() { names.append(String(decoding: select.blob(0), as: UTF8.self)) }
        return names
    }

    @Test("a spool gives its names back oldest modification time first, ties by name, then nothing more")
    func spoolOrder() throws {
        let spool = ListingSpool()
        try spool.add(Array("late".utf8), modified: time(30))
        try spool.add(Array("b".utf8), modified: time(10, 5))
        try spool.add(Array("a".utf8), modified: time(10, 5))
        try spool.add(Array("early".utf8), modified: time(10, 1))
        #expect(spool.count == 4)
        let listing = ListingRequest(
            queue: "q", counter: nil, directory: "/d", spool: spool, listLength: 0, limit: nil, timestamp: 1)
        let path = directory.file("outbox.sqlite3")
        let writer = try OutboxWriter(settings: OutboxSettings(path: path), logger: testLogger)
        #expect(apply(listing, to: writer) == ListingOutcome(announced: 4, alreadyPending: 0, leftOut: 0))
        writer.stop()
        #expect(try names(in: path) == ["early", "a", "b", "late"])
    }

    @Test("past its memory limit a spool moves to disk and still gives every name back in order, once")
    func spoolOnDisk() throws {
        let total = ListingSpool.memoryLimit + 5_000
        let spool = ListingSpool()
        // Newest first, and pairs sharing a modification time (ties go by name).
        for index in (0..<total).reversed() {
            try spool.add(Array(String(format: "n%06d", index).utf8), modified: time(index / 2))
        }
        let path = directory.file("outbox.sqlite3")
        let writer = try OutboxWriter(settings: OutboxSettings(path: path), logger: testLogger)
        let listing = ListingRequest(
            queue: "q", counter: nil, directory: "/d", spool: spool, listLength: 0, limit: nil, timestamp: 1)
        #expect(apply(listing, to: writer) == ListingOutcome(announced: total, alreadyPending: 0, leftOut: 0))
        writer.stop()
        let listed = try names(in: path)
        #expect(listed.count == total)
        #expect(listed == (0..<total).map { String(format: "n%06d", $0) })
    }

    @Test("runs past the fan-in are merged in stages; names of any length and ties all come back in order, once")
    func spoolMergedInStages() throws {
        var random = SeededRandom(seed: 7)
        // 5,000 candidates in runs of 100 (50 runs) merged 4 at a time; a name of up to 255 bytes, so the
        // readers' buffers refill in the middle of records; two names per modification time.
        var candidates: [(name: [UInt8], seconds: Int, nanoseconds: Int)] = (0..<5_000).map { index in
            let padding = [UInt8](repeating: UInt8(ascii: "x"), count: Int(random.next() % 240))
            return (Array(String(format: "%05d-", index).utf8) + padding, index / 2 % 1_000, index / 2_000)
        }
        let expected = candidates.sorted { left, right in
            (left.seconds, left.nanoseconds) != (right.seconds, right.nanoseconds)
                ? (left.seconds, left.nanoseconds) < (right.seconds, right.nanoseconds)
                : left.name.lexicographicallyPrecedes(right.name)
        }.map(\.name)
        candidates.shuffle(using: &random)
        let spool = ListingSpool(runLength: 100, fanIn: 4)
        for candidate in candidates {
            try spool.add(candidate.name, modified: time(candidate.seconds, candidate.nanoseconds))
        }
        var read: [[UInt8]] = []
        while case let chunk = try spool.next(777), !chunk.isEmpty { read += chunk }
        #expect(read.count == expected.count)
        #expect(read == expected)
        #expect(try spool.next(10).isEmpty)
    }

    @Test("a listing larger than a chunk keeps one budget: the oldest go in, in order, the rest is left out")
    func budgetAcrossChunks() throws {
        let path = directory.file("outbox.sqlite3")
        let writer = try OutboxWriter(settings: OutboxSettings(path: path), logger: testLogger)
        writer.append([event("f00007", directory: "/d")])
        #expect(writer.flush(timeout: 10))
        let total = 20_000
        let spool = ListingSpool()
        for index in (0..<total).reversed() {
            try spool.add(Array(String(format: "f%05d", index).utf8), modified: time(1_000 + index))
        }
        let limit = 12_000
        let listing = ListingRequest(
            queue: "q", counter: nil, directory: "/d", spool: spool, listLength: 1_000, limit: limit, timestamp: 2)
        // The budget: 12,000 − (1,000 on the list + 1 pending) = 10,999; f00007 is pending already.
        #expect(apply(listing, to: writer) == ListingOutcome(announced: 10_999, alreadyPending: 1, leftOut: 9_000))
        writer.stop()
        let listed = try names(in: path)
        #expect(listed.count == 10_999)
        #expect(listed.first == "f00000" && listed.last == "f10999")
        #expect(!listed.contains("f00007"))
        #expect(listed == listed.sorted())
    }

    @Test("unlimited listings stop at outbox_max_pending, decided when they start")
    func maxPendingAtStart() throws {
        let path = directory.file("outbox.sqlite3")
        let writer = try OutboxWriter(settings: OutboxSettings(path: path, maxPending: 3), logger: testLogger)
        writer.append((0..<3).map { event("p\($0)", directory: "/d") })
        #expect(writer.flush(timeout: 10))
        let spool = ListingSpool()
        for index in 0..<10 { try spool.add(Array("n\(index)".utf8), modified: time(index)) }
        let listing = ListingRequest(
            queue: "q", counter: nil, directory: "/d", spool: spool, listLength: 0, limit: nil, timestamp: 2)
        #expect(apply(listing, to: writer) == ListingOutcome(announced: 0, alreadyPending: 0, leftOut: 10))
        writer.stop()
    }
}

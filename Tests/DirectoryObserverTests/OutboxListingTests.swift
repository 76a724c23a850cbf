import DirectoryObserver
import Foundation
import Testing

@Suite("Outbox listings")
struct OutboxListingTests {
    /// This test's own directory (a suite instance per test), removed when the test ends.
    private let directory = TemporaryDirectory()

    private func listing(_ names: [String], limit: Int? = nil, listLength: Int = 0) -> ListingRequest {
        ListingRequest(
            queue: "q", counter: "q.count", directory: "/d", candidates: names.map { Array($0.utf8) },
            listLength: listLength, limit: limit, timestamp: 1_700_000_000.5)
    }

    private func pendingNames(_ store: OutboxStore) throws -> [String] {
        try store.pendingBatch(queue: "q", afterID: 0, limit: 1_000).map {
            String(decoding: $0.filename, as: UTF8.self)
        }
    }

    @Test("a listing adds exists events in candidate order, skipping names that already have a pending event")
    func skipsPendingNames() throws {
        let store = try openStore(directory)
        try insertPendingNeighbours(into: store, delivered: "e", pending: "b", otherDirectory: "c", otherQueue: "d")

        let outcome = try store.insertListing(listing(["a", "b", "c", "d", "e"]), maxPending: 1_000, createdAt: 2)
        #expect(outcome == ListingOutcome(announced: 4, alreadyPending: 1, leftOut: 0))
        let added = try store.pendingBatch(queue: "q", afterID: 0, limit: 100).filter { $0.kind == .exists }
        #expect(added.map { String(decoding: $0.filename, as: UTF8.self) } == ["a", "c", "d", "e"])
        #expect(
            added.allSatisfy {
                $0.directory == "/d" && $0.counter == "q.count" && $0.timestamp == 1_700_000_000.5 && $0.createdAt == 2
            })
    }

    @Test("a listing never makes the list longer than its limit: limit − (list length + pending)")
    func respectsLimit() throws {
        let store = try openStore(directory)
        try store.insert(event("p1", queue: "q", directory: "/d"), createdAt: 1)
        try store.insert(event("p2", queue: "q", directory: "/other"), createdAt: 1)
        try store.insert(event("x", queue: "elsewhere"), createdAt: 1)
        // 10 − (6 in the list + 2 pending for the queue) = 2 may be added.
        let outcome = try store.insertListing(
            listing(["n1", "p1", "n2", "n3", "n4", "n5"], limit: 10, listLength: 6), maxPending: 1_000, createdAt: 2)
        #expect(outcome == ListingOutcome(announced: 2, alreadyPending: 1, leftOut: 3))
        #expect(try pendingNames(store) == ["p1", "p2", "n1", "n2"], "the oldest candidates go first")
    }

    @Test("a list already at or over its limit gets nothing", arguments: [10, 11, 50])
    func listOverLimit(listLength: Int) throws {
        let store = try openStore(directory)
        let outcome = try store.insertListing(
            listing(["a", "b"], limit: 10, listLength: listLength), maxPending: 1_000, createdAt: 2)
        #expect(outcome == ListingOutcome(announced: 0, alreadyPending: 0, leftOut: 2))
        #expect(try store.pendingCount() == 0)
    }

    @Test("no limit adds every new candidate")
    func noLimit() throws {
        let store = try openStore(directory)
        let names = (0..<500).map { "f\($0)" }
        let outcome = try store.insertListing(listing(names, listLength: 1_000_000), maxPending: 1_000, createdAt: 2)
        #expect(outcome == ListingOutcome(announced: 500, alreadyPending: 0, leftOut: 0))
        #expect(try pendingNames(store) == names)
    }

    @Test("with maxPending events pending in the outbox (all queues), a listing adds nothing")
    func maxPending() throws {
        let store = try openStore(directory)
        try store.insert(event("a", queue: "q"), createdAt: 1)
        try store.insert(event("x", queue: "other"), createdAt: 1)
        try store.insert(event("y", queue: "other"), createdAt: 1)
        let full = try store.insertListing(listing(["a", "b", "c"]), maxPending: 3, createdAt: 2)
        // No room at all: the pending names are not even read (a big backlog would hold the writer).
        #expect(full == ListingOutcome(announced: 0, alreadyPending: 0, leftOut: 3))
        #expect(try store.pendingCount() == 3)

        let room = try store.insertListing(listing(["a", "b", "c"]), maxPending: 4, createdAt: 2)
        #expect(room.announced == 2 && room.alreadyPending == 1 && room.leftOut == 0)
    }
}

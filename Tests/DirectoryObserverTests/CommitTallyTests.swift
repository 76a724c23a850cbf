import Testing

@testable import DirectoryObserver

@Suite("Commit tally")
struct CommitTallyTests {
    @Test("events are counted per queue and kind, across runs that change and come back")
    func countsRuns() {
        func events(_ queue: String, _ kind: EventKind, _ count: Int) -> [NewEvent] {
            (0..<count).map { _ in
                NewEvent(queue: queue, counter: nil, directory: "/d", filename: [0x61], kind: kind, timestamp: 1)
            }
        }
        var tally = CommitTally()
        tally.add(events("a", .created, 3) + events("a", .exists, 2) + events("b", .created, 1) + events("a", .created, 1))
        tally.add([])
        tally.add(events("b", .exists, 4))
        #expect(tally.created == ["a": 4, "b": 1])
        #expect(tally.exists == ["a": 2, "b": 4])
    }
}

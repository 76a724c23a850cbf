@testable import DirectoryObserver
import Foundation
import Glibc
import DirectoryObserverTestSupport
import Testing

/// The forwarder's guarantees under a storm of faults at random moments, against a real server: every
/// event arrives once, each queue in order, and each counter counts exactly its queue's events.
@Suite("Forwarder under random faults against a real server", .timeLimit(.minutes(2)))
struct ForwarderFaultTests {
    /// What can go wrong between two rounds.
    enum Fault: CaseIterable {
        /// The script cache is emptied: the next round meets NOSCRIPT.
        case scriptFlushed
        /// Every client connection is closed by the server: a connection-level failure.
        case connectionsKilled
        /// One queue's counter holds a value INCRBY cannot add to: that queue's batches are refused
        /// (attempts) until it is mended.
        case counterBroken
        /// A broken counter is mended.
        case counterMended
        /// Nothing happens.
        case none
    }

    @Test("every event once and in order per queue, whatever happens between rounds", arguments: [1, 2, 3] as [UInt64])
    func randomFaults(seed: UInt64) throws {
        let server = try RedisServer()
        let fixture = try ForwarderFixture()
        let queues = ["alpha", "beta", "gamma"]
        var expected: [String: [NewEvent]] = [:]
        for queue in queues {
            expected[queue] = ForwarderFixture.events(queue: queue, counter: "\(queue):count", count: 700, stem: queue)
        }
        // Interleaved in the outbox, as several monitors' events are.
        var interleaved: [NewEvent] = []
        for index in 0..<700 { interleaved += queues.map { expected[$0]![index] } }
        try fixture.append(interleaved)
        let settings = fixture.settings(
            server, retry: RetrySettings(initial: 0.001, maximum: 0.002, maxAttempts: 1_000_000), batchSize: 40)
        let (forwarder, store) = try fixture.forwarder(settings)
        defer { try? store.close() }

        var random = SeededRandom(seed: seed)
        var broken: Set<String> = []
        var rounds = 0
        var faults = 0
        while true {
            rounds += 1
            try #require(rounds < 5_000, "no end after \(rounds) rounds")
            let fault = rounds > 400 ? .none : Fault.allCases.randomElement(using: &random)!
            switch fault {
            case .scriptFlushed:
                try server.command("SCRIPT", "FLUSH")
            case .connectionsKilled:
                try server.command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
            case .counterBroken:
                let queue = queues.randomElement(using: &random)!
                try server.command("SET", "\(queue):count", "broken")
                broken.insert(queue)
            case .counterMended:
                if let queue = broken.randomElement(using: &random) {
                    // What was counted before it broke is lost with the bad value: put it back.
                    let pushed = try server.command("LLEN", queue).integerValue ?? 0
                    try server.command("SET", "\(queue):count", String(pushed))
                    broken.remove(queue)
                }
            case .none:
                break
            }
            if fault != .none { faults += 1 }
            if rounds > 400 {
                for queue in broken {
                    let pushed = try server.command("LLEN", queue).integerValue ?? 0
                    try server.command("SET", "\(queue):count", String(pushed))
                }
                broken.removeAll()
            }
            switch forwarder.round() {
            case .idle where rounds > 400: break
            case .waiting, .unavailable: usleep(2_000); continue
            default: continue
            }
            break
        }
        #expect(fixture.writer.flush())
        #expect(faults > 100, "the storm was too quiet: \(faults) faults")
        for queue in queues {
            let pushed = try server.consumerOrder(queue)
            let wanted = expected[queue]!.map(ForwarderFixture.message)
            let difference = pushed.indices.first { $0 >= wanted.count || pushed[$0] != wanted[$0] } ?? pushed.count
            let allOnceInOrder = pushed == wanted
            #expect(
                allOnceInOrder,
                "queue \(queue), seed \(seed): \(pushed.count) pushed, \(wanted.count) expected, first difference at \(difference)")
            #expect(try server.integer("\(queue):count") == 700, "queue \(queue), seed \(seed)")
        }
        #expect(try fixture.count(.delivered) == 2_100)
        #expect(try fixture.count(.dead) == 0)
    }
}

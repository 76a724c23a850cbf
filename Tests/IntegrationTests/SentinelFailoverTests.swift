import Foundation
import Glibc
import Testing

@testable import DirectoryObserver

/// SPEC §8 Sentinel with real processes: a master, a replica and three `redis-server --sentinel` on
/// loopback. Files flow at 200/s; the master is killed with SIGKILL; the sentinels promote the replica and
/// the forwarder follows. With the replica lagging (its link cut and the process stopped for 2 s before
/// the kill), only lost-write recovery brings back the tail the new master never got.
@Suite("Sentinel failover against real processes", .timeLimit(.minutes(2)))
struct SentinelFailoverTests {
    enum Scenario: String, CaseIterable, CustomTestStringConvertible {
        case replicaInStep
        case replicaLagging
    }

    /// Events per second, and how many are written in all (8 s).
    static let rate = 200.0
    static let total = 1_600

    @Test(
        "kill -9 of the master: every file announced on the promoted replica, in order, duplicates only resent ones",
        arguments: Scenario.allCases)
    func failover(scenario: Scenario) async throws {
        let cluster = try SentinelCluster()
        let fixture = try ForwarderFixture()
        let events = try fixture.eventsWithFiles(queue: "jobs", count: Self.total, stem: "s")
        let settings = fixture.settings(
            cluster.master, timeout: 1, retry: RetrySettings(initial: 0.05, maximum: 0.5),
            redis: RedisSettings(sentinel: cluster.settings))
        let service = try fixture.service(settings)
        defer { service.stop() }

        let pauseAt = 400
        let killAt = scenario == .replicaLagging ? 800 : 400
        let start = Clock.monotonic()
        for (index, event) in events.enumerated() {
            let due = start + Double(index) / Self.rate
            let now = Clock.monotonic()
            if due > now { try await pauseAsync(due - now) }
            if scenario == .replicaLagging, index == pauseAt {
                try cluster.replica.pause()
                try cluster.master.command("CLIENT", "KILL", "TYPE", "replica")
            }
            if index == killAt {
                if scenario == .replicaLagging {
                    // Every event so far must be in the master (and so, past the pause, not in the replica):
                    // on a loaded machine the forwarder may lag behind the files.
                    try #require(
                        try await fixture.waitAsync(seconds: 10) { (try? cluster.master.length("jobs")) ?? 0 >= killAt }
                    )
                }
                cluster.master.kill9()
                if scenario == .replicaLagging { try cluster.replica.resume() }
            }
            fixture.writer.append([event])
        }
        try #require(try await fixture.waitAsync(seconds: 40) { cluster.masterPort() == cluster.replica.port })
        try #require(try await fixture.waitAsync(seconds: 40) { try fixture.count(.pending) == 0 })
        try await pauseAsync(0.3)

        let expected = events.map(ForwarderFixture.message)
        let pushed = try cluster.replica.consumerOrder("jobs")
        var seen = Set<[UInt8]>()
        let firstOccurrences = pushed.filter { seen.insert($0).inserted }
        let lost = Set(expected).subtracting(seen).count
        let duplicates = pushed.count - firstOccurrences.count
        let resent = fixture.logs.all.filter { $0.message.hasPrefix("Redis lost writes") }
            .compactMap { $0.metadata["outbox.resent"].flatMap { Int($0) } }.reduce(0, +)
        let switched = fixture.logs.entries("Redis master switched")
        let down = fixture.logs.entries("Redis reachable again").first?.metadata["redis.down_for_s"] ?? "?"
        print(
            "sentinel failover \(scenario): lost \(lost), duplicates \(duplicates), resent \(resent), "
                + "interruption \(down) s (first failed round trip to first batch on the new master)")

        #expect(lost == 0)
        #expect(firstOccurrences == expected)
        #expect(duplicates <= resent)
        #expect(switched.count == 1)
        #expect(switched.first?.metadata["redis.to"] == "127.0.0.1:\(cluster.replica.port)")
        if scenario == .replicaLagging { #expect(resent > 0) }
        #expect(try fixture.count(.dead) == 0)
    }

    @Test("drain finds the master through the sentinels (redis_server is not used) and forwards everything")
    func drainThroughSentinel() throws {
        let cluster = try SentinelCluster()
        let fixture = try ForwarderFixture()
        let events = try fixture.appendJobs(count: 50)
        let settings = fixture.settings(
            cluster.master, timeout: 2,
            redis: RedisSettings(endpoint: .tcp(host: "127.0.0.1", port: 1), sentinel: cluster.settings))
        let outcome = try Drain.run(settings: settings, writer: fixture.writer, logger: fixture.logger)
        #expect(outcome == Drain.Outcome(settled: 50, dead: 0))
        #expect(try cluster.master.consumerOrder("jobs") == events.map(ForwarderFixture.message))
        #expect(
            fixture.logs.entries("connected to Redis").first?.metadata["redis.endpoint"]
                == "127.0.0.1:\(cluster.master.port)")
    }
}

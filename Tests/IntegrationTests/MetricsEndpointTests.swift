import DirectoryObserver
import Foundation
import Glibc
import Testing

/// `metrics_listen` (SPEC §9): the scrape parses with Prometheus's own parser, every metric is there from
/// the start, per-queue values agree with `outbox stats`, `/healthz` tells a removed directory, and a
/// taken port refuses the start in one line.
@Suite("Operating it: /metrics and /healthz", .serialized, .timeLimit(.minutes(2)))
struct MetricsEndpointTests {
    static let families = [
        "directory_observer_events", "directory_observer_pushed_events", "directory_observer_pending_events",
        "directory_observer_oldest_pending_age_seconds", "directory_observer_dead_events",
        "directory_observer_skipped_events", "directory_observer_redis_up", "directory_observer_redis_lost_writes",
        "directory_observer_inotify_overflows", "directory_observer_listings", "directory_observer_outbox_size_bytes",
        "directory_observer_commit_duration_seconds", "directory_observer_delivery_latency_seconds",
    ]

    private func stats(_ setup: DaemonSetup) throws -> [String: Any] {
        let result = try ObserverBinary.run(["outbox", "stats", "--config", setup.configPath, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        return try JSONSerialization.jsonObject(with: Data(result.stdout)) as? [String: Any] ?? [:]
    }

    private func queue(_ name: String, in stats: [String: Any]) -> [String: Any] {
        (stats["queues"] as? [[String: Any]] ?? []).first { $0["queue"] as? String == name } ?? [:]
    }

    /// A daemon setup serving /metrics and /healthz on a free loopback port (returned), with Redis at
    /// `redisPort` (by default a free port nobody listens on).
    private func metricsSetup(redisPort: Int? = nil) throws -> (DaemonSetup, port: Int) {
        let port = try HTTPProbe.freePort()
        let setup = try DaemonSetup(
            port: try redisPort ?? HTTPProbe.freePort(), extra: "metrics_listen=127.0.0.1:\(port)")
        return (setup, port)
    }

    private func count(_ value: Any?) -> Double {
        (value as? NSNumber)?.doubleValue ?? -1
    }

    @Test("every metric is exposed at start, at 0, for every configured queue; the text parses")
    func everyMetricFromTheStart() async throws {
        let port = try HTTPProbe.freePort()
        let other = try TemporaryDirectory(prefix: "dirobs-metrics-other")
        let setup = try DaemonSetup(
            port: try HTTPProbe.freePort(),
            extra: "metrics_listen=127.0.0.1:\(port)\n\n[other:common]\nactive=true\ndirectory=\(other.path)\nqueue=q2")
        let daemon = try await setup.start()
        let response = try HTTPProbe.get("/metrics", port: port)
        #expect(response.status == 200)
        #expect(response.headers["content-type"]?.hasPrefix("text/plain; version=0.0.4") == true)
        let scrape = try ParsedScrape(response.body)
        for family in Self.families {
            #expect(scrape.families[family] != nil, "missing \(family)")
        }
        for queue in ["q", "q2"] {
            for event in ["created", "exists"] {
                #expect(scrape.value("directory_observer_events_total", ["queue": queue, "event": event]) == 0)
            }
            for name in [
                "directory_observer_pushed_events_total", "directory_observer_pending_events",
                "directory_observer_oldest_pending_age_seconds", "directory_observer_dead_events",
                "directory_observer_skipped_events_total", "directory_observer_redis_lost_writes_total",
            ] {
                #expect(scrape.value(name, ["queue": queue]) == 0, "\(name){queue=\(queue)}")
            }
            #expect(scrape.value("directory_observer_listings_total", ["queue": queue]) == 1)
        }
        #expect(scrape.value("directory_observer_redis_up") == 0)
        #expect(scrape.value("directory_observer_inotify_overflows_total") == 0)
        #expect(scrape.value("directory_observer_delivery_latency_seconds_count") == 0)
        daemon.send(SIGTERM)
        #expect(try await daemon.exitStatus(within: 10) == 0)
    }

    @Test("after events, a dead-letter, a replay and an outage, every per-queue value agrees with outbox stats")
    func scrapeAgreesWithStats() async throws {
        let server = try RedisServer()
        _ = try server.command("SET", "q2", "not a list")
        let port = try HTTPProbe.freePort()
        let other = try TemporaryDirectory(prefix: "dirobs-metrics-other")
        let setup = try DaemonSetup(
            port: server.port,
            extra: """
                metrics_listen=127.0.0.1:\(port)
                max_attempts=1

                [other:common]
                active=true
                directory=\(other.path)
                queue=q2
                """)
        let daemon = try await setup.start()

        for name in ["a", "b", "c"] { try Files.create(setup.watched + "/" + name) }
        #expect(try await eventually(within: 10) { try server.list("q").count == 3 ? true : nil } == true)
        for name in ["x", "y"] { try Files.create(other.path + "/" + name) }
        #expect(
            try await eventually(within: 10) {
                self.count(self.queue("q2", in: try self.stats(setup))["dead"]) == 2 ? true : nil
            } == true)
        let replay = try ObserverBinary.run(["replay", "--config", setup.configPath, "--queue", "q"])
        #expect(replay.stdoutText == "replayed 3 events\n")
        #expect(try await eventually(within: 10) { try server.list("q").count == 6 ? true : nil } == true)
        server.stop()
        for name in ["d", "e"] { try Files.create(setup.watched + "/" + name) }
        #expect(
            try await eventually(within: 10) {
                self.count(self.queue("q", in: try self.stats(setup))["pending"]) == 2 ? true : nil
            } == true)
        try await Task.sleep(for: .milliseconds(1_200))

        let before = try stats(setup)
        let scrape = try ParsedScrape(try HTTPProbe.get("/metrics", port: port).body)
        let after = try stats(setup)

        for name in ["q", "q2"] {
            let line = queue(name, in: before)
            let labels = ["queue": name]
            #expect(scrape.value("directory_observer_pending_events", labels) == count(line["pending"]), "\(name)")
            #expect(scrape.value("directory_observer_dead_events", labels) == count(line["dead"]), "\(name)")
            #expect(
                scrape.value("directory_observer_pushed_events_total", labels) == count(line["delivered"]), "\(name)")
            #expect(
                scrape.value("directory_observer_skipped_events_total", labels) == count(line["skipped"]), "\(name)")
            let age = scrape.value("directory_observer_oldest_pending_age_seconds", labels) ?? -1
            if let low = line["oldest_pending_age_s"] as? NSNumber,
                let high = queue(name, in: after)["oldest_pending_age_s"] as? NSNumber
            {
                #expect(age >= low.doubleValue - 0.01 && age <= high.doubleValue + 0.01, "\(name): \(age)")
            } else {
                #expect(age == 0, "\(name)")
            }
        }
        // The values themselves, so that agreement on wrong numbers cannot pass.
        #expect(scrape.value("directory_observer_pending_events", ["queue": "q"]) == 2)
        #expect((scrape.value("directory_observer_oldest_pending_age_seconds", ["queue": "q"]) ?? 0) >= 1.2)
        #expect(scrape.value("directory_observer_pushed_events_total", ["queue": "q"]) == 6)
        #expect(scrape.value("directory_observer_dead_events", ["queue": "q2"]) == 2)
        #expect(scrape.value("directory_observer_events_total", ["queue": "q", "event": "created"]) == 5)
        #expect(scrape.value("directory_observer_events_total", ["queue": "q2", "event": "created"]) == 2)
        #expect(scrape.value("directory_observer_delivery_latency_seconds_count") == 6)
        #expect((scrape.value("directory_observer_commit_duration_seconds_count") ?? 0) >= 4)
        #expect(scrape.value("directory_observer_redis_up") == 0)
        #expect((scrape.value("directory_observer_outbox_size_bytes") ?? 0) > 0)
        daemon.send(SIGTERM)
        #expect(try await daemon.exitStatus(within: 10) == 0)
    }

    @Test("Redis forgetting its writes (FLUSHALL) counts in redis_lost_writes_total; redis_up follows the session")
    func lostWritesAreCounted() async throws {
        let server = try RedisServer()
        let (setup, port) = try metricsSetup(redisPort: server.port)
        let daemon = try await setup.start()
        try Files.create(setup.watched + "/first")
        #expect(try await eventually(within: 10) { try server.list("q").count == 1 ? true : nil } == true)
        let before = try ParsedScrape(try HTTPProbe.get("/metrics", port: port).body)
        #expect(before.value("directory_observer_redis_lost_writes_total", ["queue": "q"]) == 0)
        #expect(before.value("directory_observer_redis_up") == 1)
        _ = try server.command("FLUSHALL")
        try Files.create(setup.watched + "/second")
        let after = try await eventually(within: 10) { () -> ParsedScrape? in
            let scrape = try ParsedScrape(try HTTPProbe.get("/metrics", port: port).body)
            return (scrape.value("directory_observer_redis_lost_writes_total", ["queue": "q"]) ?? 0) >= 1 ? scrape : nil
        }
        #expect(after != nil, "no lost write counted; stdout: \(daemon.stdout)")
        daemon.send(SIGTERM)
        #expect(try await daemon.exitStatus(within: 10) == 0)
    }

    @Test("/healthz answers 200 ok, then 503 naming a removed directory, then 200 when it is back")
    func healthTellsARemovedDirectory() async throws {
        let (setup, port) = try metricsSetup()
        let daemon = try await setup.start()
        let healthy = try HTTPProbe.get("/healthz", port: port)
        #expect(healthy.status == 200)
        #expect(healthy.body == "ok\n")
        try FileManager.default.removeItem(atPath: setup.watched)
        let broken = try await eventually(within: 10) { () -> HTTPProbe.Response? in
            let response = try HTTPProbe.get("/healthz", port: port)
            return response.status == 503 ? response : nil
        }
        #expect(broken?.body == "directory not watched: \(setup.watched): deleted\n")
        // The checks every second still find it gone: the reason that said how it went stays.
        try await Task.sleep(for: .milliseconds(1_500))
        #expect(try HTTPProbe.get("/healthz", port: port).body == "directory not watched: \(setup.watched): deleted\n")
        try FileManager.default.createDirectory(atPath: setup.watched, withIntermediateDirectories: false)
        let back = try await eventually(within: 10) { () -> HTTPProbe.Response? in
            let response = try HTTPProbe.get("/healthz", port: port)
            return response.status == 200 ? response : nil
        }
        #expect(back?.body == "ok\n")
        #expect(try HTTPProbe.get("/nothing", port: port).status == 404)
        daemon.send(SIGTERM)
        #expect(try await daemon.exitStatus(within: 10) == 0)
    }

    @Test("a second daemon on the same configuration names the first one's pid, not the port they share")
    func secondDaemonNamesTheHolder() async throws {
        let (setup, port) = try metricsSetup()
        let first = try await setup.start()
        let second = try await setup.start(name: "second", waitForStart: false)
        #expect(try await second.exitStatus(within: 10) == 75)
        #expect(second.stderrLines.count == 1)
        #expect(second.stderr.contains("locked by") && second.stderr.contains("\(first.pid)"), "\(second.stderr)")
        #expect(try HTTPProbe.get("/healthz", port: port).status == 200)
        first.send(SIGTERM)
        #expect(try await first.exitStatus(within: 10) == 0)
    }

    @Test("a metrics_listen port already taken is refused at start: one line, exit 78, no outbox made")
    func takenPortIsRefused() async throws {
        let (holder, port) = try HTTPProbe.listeningSocket()
        defer { close(holder) }
        let setup = try DaemonSetup(port: try HTTPProbe.freePort(), extra: "metrics_listen=127.0.0.1:\(port)")
        let daemon = try await setup.start(waitForStart: false)
        #expect(try await daemon.exitStatus(within: 10) == 78)
        #expect(
            daemon.stderrLines == [
                "directory_observer: \(setup.configPath) metrics_listen='127.0.0.1:\(port)': cannot listen: Address already in use"
            ])
        #expect(!FileManager.default.fileExists(atPath: setup.outboxPath))
    }
}

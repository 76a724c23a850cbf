import DirectoryObserver
import Logging

/// One drain of a backlog built beforehand: `Drain.run` (the same `Forwarder` rounds the daemon's service
/// runs) into the private redis-server, with a sampler watching memory and the lists meanwhile. It checks
/// what reached Redis, then empties the lists for the next run.
struct DrainRun {
    let options: DrainOptions
    let redis: RedisChild
    let logger: Logger

    static let lists = ["bench:incoming", "bench:reports"]
    static let counter = "bench:incoming:count"

    /// What one drain measured.
    struct Measurement {
        /// Events in the backlog.
        var events: Int
        var settled: Int
        var dead: Int
        var seconds: Double
        /// Seconds from the start until every event was in Redis (sampled every 50 ms), if seen.
        var allInRedisAfter: Double?
        var cpuOurs: Double
        var cpuRedis: Double
        var incoming: Int64
        var reports: Int64
        var counter: Int64
        var rssBefore: Int
        var hwmBefore: Int
        var hwmAfter: Int
        var peakSampled: Int
        /// The delivery script's calls and the seconds Redis spent in them, as the server counted them.
        var evalsha: (calls: Double, seconds: Double)?
        /// Every event is in Redis once, the counter matches and the outbox has settled all of them.
        var verified: Bool

        /// Events per second, from the start of `Drain.run` until it returned.
        var rate: Double { Double(events) / seconds }
    }

    /// Drains the outbox at `outbox`, which holds `options.events` pending events.
    func measure(outbox: String) throws -> Measurement {
        let writer = try OutboxWriter(settings: OutboxSettings(path: outbox, sync: options.sync), logger: logger)
        let settings = ForwarderSettings(
            redis: RedisSettings(endpoint: redis.endpoint), timeout: 10, retry: RetrySettings(),
            batchSize: options.batchSize)

        let hwmBefore = statusKilobytes("VmHWM")
        let rssBefore = statusKilobytes("VmRSS")
        let sampler = DrainSampler(endpoint: redis.endpoint, lists: Self.lists, expected: options.events)
        let cpuBefore = (ours: cpuSeconds("self"), redis: cpuSeconds(String(redis.pid)))
        _ = try redis.command("CONFIG", "RESETSTAT")
        let started = Clock.monotonic()
        let outcome = try Drain.run(settings: settings, writer: writer, logger: logger)
        let elapsed = Clock.monotonic() - started
        let cpuOurs = cpuSeconds("self") - cpuBefore.ours
        let cpuRedis = cpuSeconds(String(redis.pid)) - cpuBefore.redis
        let (peakSampled, allInRedisAt) = sampler.stop()
        let hwmAfter = statusKilobytes("VmHWM")
        writer.stop()

        let incoming = try redis.command("LLEN", Self.lists[0]).integerValue ?? -1
        let reports = try redis.command("LLEN", Self.lists[1]).integerValue ?? -1
        let counter = try redis.command("GET", Self.counter).integerValue ?? -1
        let verified =
            incoming + reports == Int64(options.events) && counter == incoming
            && outcome.settled == options.events && outcome.dead == 0
        let evalsha = try scriptCalls()
        _ = try redis.command("DEL", Self.lists[0], Self.lists[1], Self.counter)
        return Measurement(
            events: options.events, settled: outcome.settled, dead: outcome.dead, seconds: elapsed,
            allInRedisAfter: allInRedisAt.map { $0 - started }, cpuOurs: cpuOurs, cpuRedis: cpuRedis,
            incoming: incoming, reports: reports, counter: counter, rssBefore: rssBefore, hwmBefore: hwmBefore,
            hwmAfter: hwmAfter, peakSampled: peakSampled, evalsha: evalsha, verified: verified)
    }

    /// Where Redis spent its time: the delivery script's calls from `INFO commandstats`.
    private func scriptCalls() throws -> (calls: Double, seconds: Double)? {
        guard let stats = try redis.command("INFO", "commandstats").stringValue,
            let line = stats.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("cmdstat_evalsha:") })
        else { return nil }
        let fields = Dictionary(
            line.dropFirst("cmdstat_evalsha:".count).split(separator: ",").compactMap { pair -> (String, Double)? in
                let parts = pair.split(separator: "=")
                guard parts.count == 2, let value = Double(parts[1]) else { return nil }
                return (String(parts[0]), value)
            }, uniquingKeysWith: { first, _ in first })
        return (fields["calls"] ?? 0, (fields["usec"] ?? 0) / 1_000_000)
    }
}

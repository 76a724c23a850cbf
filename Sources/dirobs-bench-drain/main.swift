// dirobs-bench-drain: how fast the forwarder drains a large outbox backlog to Redis, and how much memory
// the process needs meanwhile.
//
// It starts its own redis-server on a free loopback port (`--save '' --appendonly no`), builds an outbox
// holding N pending events (default 1,000,000; two queues, realistic 20–40 byte names) in large
// transactions, then drains it with `Drain.run` (the same `Forwarder` rounds the daemon's service runs)
// while a sampler thread reads VmRSS every 50 ms; `--runs` times (default 3) on a fresh backlog each, and
// the median rate counts. Then it runs `redis-benchmark -t lpush -P 64` against the same server as the
// ceiling and prints the ratio. Goals: ≥ 300,000 events/s, peak RSS ≤ 50 MB.

import DirectoryObserver
import Foundation
import Glibc
import Logging
import Synchronization

// MARK: - Settings

struct Options {
    var events = 1_000_000
    var batchSize = 4_000
    var sync: OutboxSettings.Sync = .full
    var runs = 3

    static let usage = "usage: dirobs-bench-drain [--events N] [--batch N] [--sync full|normal] [--runs N]"

    static func parse(_ arguments: [String]) -> Options {
        var options = Options()
        var index = 0
        func value() -> String {
            index += 1
            guard index < arguments.count else { fail(usage) }
            return arguments[index]
        }
        while index < arguments.count {
            switch arguments[index] {
            case "--events": options.events = number(value())
            case "--batch": options.batchSize = number(value())
            case "--runs": options.runs = number(value())
            case "--sync":
                guard let sync = OutboxSettings.Sync(rawValue: value()) else { fail(usage) }
                options.sync = sync
            case "-h", "--help":
                say(usage)
                exit(0)
            default: fail(usage)
            }
            index += 1
        }
        guard options.events > 0, options.batchSize > 0, options.runs > 0 else { fail(usage) }
        return options
    }

    private static func number(_ text: String) -> Int {
        guard let value = Int(text) else { fail(usage) }
        return value
    }
}

/// Prints a line at once (unbuffered even into a pipe or a file, so each phase shows up as it ends).
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("dirobs-bench-drain: \(message)\n".utf8))
    exit(1)
}

// MARK: - Process memory

/// A field of /proc/self/status in kB (`VmRSS`, `VmHWM`), read without Foundation so the sampler itself
/// allocates next to nothing.
func statusKilobytes(_ field: String) -> Int {
    let fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return -1 }
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: 4096)
    let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    guard count > 0 else { return -1 }
    let prefix = Array("\(field):".utf8)
    var start = 0
    while start < count {
        var end = start
        while end < count && buffer[end] != 0x0A { end += 1 }
        if end - start > prefix.count && Array(buffer[start..<start + prefix.count]) == prefix {
            let digits = buffer[(start + prefix.count)..<end].filter { $0 >= 0x30 && $0 <= 0x39 }
            return Int(String(decoding: digits, as: UTF8.self)) ?? -1
        }
        start = end + 1
    }
    return -1
}

/// CPU seconds (user + system) a process has used so far, from /proc/PID/stat ("self" for this one).
func cpuSeconds(_ pid: String) -> Double {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let end = stat.lastIndex(of: ")")
    else { return 0 }
    // Fields after the command name: state is field 3, utime 14 and stime 15.
    let fields = stat[stat.index(after: end)...].split(separator: " ")
    guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

func megabytes(_ kilobytes: Int) -> String {
    String(format: "%.1f MB", Double(kilobytes) / 1024)
}

/// Samples VmRSS every 50 ms on its own thread and keeps the largest value; meanwhile it also asks Redis
/// for the lists' lengths and notes when every event has reached Redis (before the outbox has finished
/// marking them), which tells the Redis side of the drain from the local bookkeeping.
final class DrainSampler: Sendable {
    private let peak = Atomic<Int>(0)
    private let running = Atomic<Bool>(true)
    private let allInRedisAt = Mutex<Double?>(nil)
    private let done = DispatchSemaphore(value: 0)

    init(endpoint: RedisEndpoint, lists: [String], expected: Int) {
        let thread = Thread { [self] in
            // The connection is made and used on this thread only.
            let redis = try? RedisConnection(endpoint: endpoint, timeout: 5)
            let lengths = lists.map { [Array("LLEN".utf8), Array($0.utf8)] }
            while running.load(ordering: .acquiring) {
                let rss = statusKilobytes("VmRSS")
                if rss > peak.load(ordering: .relaxed) { peak.store(rss, ordering: .relaxed) }
                if allInRedisAt.withLock({ $0 }) == nil, let replies = try? redis?.pipeline(lengths) {
                    let total = replies.reduce(0) { $0 + Int($1.integerValue ?? 0) }
                    if total >= expected { allInRedisAt.withLock { $0 = Clock.monotonic() } }
                }
                usleep(50_000)
            }
            done.signal()
        }
        thread.name = "drain-sampler"
        thread.start()
    }

    /// Stops sampling (after one last sample); returns the peak RSS in kB and when (monotonic time) every
    /// event was in Redis, if that was seen.
    func stop() -> (peakKilobytes: Int, allInRedisAt: Double?) {
        running.store(false, ordering: .releasing)
        done.wait()
        return (max(peak.load(ordering: .relaxed), statusKilobytes("VmRSS")), allInRedisAt.withLock { $0 })
    }
}

// MARK: - A private redis-server

/// A redis-server child on a free loopback port, killed at the end.
final class RedisChild {
    let port: Int
    let pid: pid_t
    let directory: String

    init(directory: String) {
        self.directory = directory
        port = Self.freePort()
        let arguments = [
            "redis-server", "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", directory, "--daemonize", "no", "--logfile", directory + "/redis.log",
        ]
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var child: pid_t = 0
        let code = posix_spawnp(&child, "redis-server", &actions, nil, argv, environ)
        guard code == 0 else { fail("cannot start redis-server: \(String(cString: strerror(code)))") }
        pid = child
        let deadline = Clock.monotonic() + 15
        while Clock.monotonic() < deadline {
            if let connection = try? RedisConnection(endpoint: endpoint, timeout: 0.5),
                case .status("PONG") = try? connection.command("PING")
            {
                return
            }
            usleep(20_000)
        }
        kill(child, SIGKILL)
        fail("redis-server on port \(port) did not answer PING")
    }

    var endpoint: RedisEndpoint { .tcp(host: "127.0.0.1", port: port) }

    func command(_ arguments: String...) throws -> RedisReply {
        try RedisConnection(endpoint: endpoint, timeout: 10).command(arguments.map { Array($0.utf8) })
    }

    func stop() {
        _ = try? command("SHUTDOWN", "NOSAVE")
        kill(pid, SIGKILL)
        var status: Int32 = 0
        _ = waitpid(pid, &status, 0)
    }

    private static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard ok else { fail("cannot find a free loopback port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

// MARK: - Building the backlog

/// Realistic file names of 20–40 bytes: a few producers' naming schemes, all different.
func fileName(_ index: Int) -> [UInt8] {
    let stamp = 20_261_125_000_000 + index
    switch index % 4 {
    case 0: return Array("img_\(stamp).jpg".utf8)
    case 1: return Array("T_PAAA40_C_LFPW_\(stamp).grb".utf8)
    case 2: return Array("report-\(index).csv".utf8)
    default: return Array("obs_station\(index % 997)_\(stamp).dat".utf8)
    }
}

/// Fills a new outbox with `count` pending events, 100,000 per transaction.
func buildBacklog(path: String, count: Int) throws -> Double {
    let started = Clock.monotonic()
    let store = OutboxStore(connection: try OutboxFile.open(path: path, access: .daemon))
    defer { try? store.close() }
    let now = Clock.now()
    var next = 0
    while next < count {
        let end = min(next + 100_000, count)
        try store.connection.transaction { () throws(SQLiteError) in
            for index in next..<end {
                let first = index % 2 == 0
                let event = NewEvent(
                    queue: first ? "bench:incoming" : "bench:reports", counter: first ? "bench:incoming:count" : nil,
                    directory: first ? "/srv/data/incoming" : "/srv/data/reports", filename: fileName(index),
                    kind: .created, timestamp: now + Double(index) / 1_000_000)
                try store.insert(event, createdAt: now)
            }
        }
        next = end
    }
    return Clock.monotonic() - started
}

// MARK: - The ceiling

/// `redis-benchmark -p PORT -t lpush -P 64 -n 1000000 -q`: LPUSH requests per second.
func lpushCeiling(port: Int) -> Double? {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["redis-benchmark", "-p", String(port), "-t", "lpush", "-P", "64", "-n", "1000000", "-q"]
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    do { try process.run() } catch { return nil }
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    // -q prints progress lines ended by \r, then "LPUSH: 1234567.89 requests per second, p50=… msec".
    let text = String(decoding: data, as: UTF8.self)
    guard let line = text.split(whereSeparator: { $0 == "\r" || $0 == "\n" }).last(where: { $0.hasPrefix("LPUSH:") })
    else { return nil }
    let number = line.dropFirst("LPUSH:".count).drop { $0 == " " }.prefix { $0.isNumber || $0 == "." }
    return Double(number)
}

// MARK: - Main

let options = Options.parse(Array(CommandLine.arguments.dropFirst()))
var template = Array("/tmp/dirobs-bench-drain-XXXXXX".utf8CString)
guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
    fail("mkdtemp failed")
}
let workDirectory = String(cString: made)

var logger = Logger(label: "dirobs-bench-drain") { StreamLogHandler.standardError(label: $0) }
logger.logLevel = .warning

let redis = RedisChild(directory: workDirectory)
say("dirobs-bench-drain: \(options.events) events, 2 queues, batch \(options.batchSize), outbox_sync \(options.sync), "
    + "\(options.runs) runs")
say("redis-server on 127.0.0.1:\(redis.port) (--save '' --appendonly no)")

/// What one drain run measured.
struct RunResult {
    var rate: Double
    var peakKilobytes: Int
    var verified: Bool
}

/// Builds a backlog in a new outbox, drains it and prints what it saw.
@MainActor
func drainOnce(run: Int) throws -> RunResult {
    let outboxPath = workDirectory + "/bench-\(run).outbox.sqlite3"
    defer {
        for suffix in ["", "-wal", "-shm"] { unlink(outboxPath + suffix) }
    }
    say("run \(run) of \(options.runs)")
    let buildTime = try buildBacklog(path: outboxPath, count: options.events)
    say(String(format: "  backlog built: %d pending events in %.2f s", options.events, buildTime))

    let writer = try OutboxWriter(settings: OutboxSettings(path: outboxPath, sync: options.sync), logger: logger)
    let settings = ForwarderSettings(
        redis: RedisSettings(endpoint: redis.endpoint), timeout: 10, retry: RetrySettings(),
        batchSize: options.batchSize)

    let hwmBefore = statusKilobytes("VmHWM")
    let rssBefore = statusKilobytes("VmRSS")
    let sampler = DrainSampler(
        endpoint: redis.endpoint, lists: ["bench:incoming", "bench:reports"], expected: options.events)
    let cpuBefore = (ours: cpuSeconds("self"), redis: cpuSeconds(String(redis.pid)))
    _ = try redis.command("CONFIG", "RESETSTAT")
    let started = Clock.monotonic()
    let outcome = try Drain.run(settings: settings, writer: writer, logger: logger)
    let elapsed = Clock.monotonic() - started
    let cpu = (ours: cpuSeconds("self") - cpuBefore.ours, redis: cpuSeconds(String(redis.pid)) - cpuBefore.redis)
    let (peakSampled, allInRedisAt) = sampler.stop()
    let hwmAfter = statusKilobytes("VmHWM")
    writer.stop()

    let incoming = try redis.command("LLEN", "bench:incoming").integerValue ?? -1
    let reports = try redis.command("LLEN", "bench:reports").integerValue ?? -1
    let counter = try redis.command("GET", "bench:incoming:count").integerValue ?? -1
    let verified = incoming + reports == Int64(options.events) && counter == incoming
        && outcome.settled == options.events && outcome.dead == 0
    let rate = Double(options.events) / elapsed

    say(String(format: "  drain: %d events in %.2f s = %.0f events/s (Drain.run: pushed and marked in the outbox)",
        outcome.settled, elapsed, rate))
    if let allInRedisAt {
        let redisSide = allInRedisAt - started
        say(String(format: "  all events in Redis after %.2f s = %.0f events/s (sampled every 50 ms); "
            + "the outbox's marks finished %.2f s later", redisSide, Double(options.events) / redisSide,
            elapsed - redisSide))
    }
    say(String(format: "  CPU during the drain: this process %.2f s (forwarder and writer), redis-server %.2f s",
        cpu.ours, cpu.redis))
    say("  lists: bench:incoming \(incoming), bench:reports \(reports), counter \(counter), dead \(outcome.dead)"
        + (verified ? " (verified)" : " (MISMATCH)"))
    say("  memory: VmRSS before drain \(megabytes(rssBefore)), VmHWM before \(megabytes(hwmBefore)), "
        + "VmHWM after \(megabytes(hwmAfter)), peak VmRSS sampled during drain (50 ms) \(megabytes(peakSampled))")

    // Where Redis spent its time: the delivery script's calls as the server counted them.
    if let stats = try redis.command("INFO", "commandstats").stringValue,
        let line = stats.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("cmdstat_evalsha:") })
    {
        let fields = Dictionary(
            line.dropFirst("cmdstat_evalsha:".count).split(separator: ",").compactMap { pair -> (String, Double)? in
                let parts = pair.split(separator: "=")
                guard parts.count == 2, let value = Double(parts[1]) else { return nil }
                return (String(parts[0]), value)
            }, uniquingKeysWith: { first, _ in first })
        let calls = fields["calls"] ?? 0
        let seconds = (fields["usec"] ?? 0) / 1_000_000
        say(String(format: "  redis-server ran EVALSHA %.0f times, %.2f s in all (%.2f ms per batch)",
            calls, seconds, calls > 0 ? seconds * 1000 / calls : 0))
    }
    _ = try redis.command("DEL", "bench:incoming", "bench:reports", "bench:incoming:count")
    return RunResult(rate: rate, peakKilobytes: peakSampled, verified: verified)
}

do {
    var results: [RunResult] = []
    for run in 1...options.runs {
        results.append(try drainOnce(run: run))
    }
    let rates = results.map(\.rate).sorted()
    let rate = rates[rates.count / 2]
    let peak = results.map(\.peakKilobytes).max() ?? 0
    let verified = results.allSatisfy(\.verified)
    say("drain: median \(String(format: "%.0f", rate)) events/s (runs: "
        + results.map { String(format: "%.0f", $0.rate) }.joined(separator: ", ") + "); peak RSS \(megabytes(peak))")
    let ceiling = lpushCeiling(port: redis.port)
    redis.stop()
    if let ceiling {
        say(String(format: "ceiling: redis-benchmark -t lpush -P 64 -n 1000000: %.0f LPUSH/s; ours/ceiling = %.2f",
            ceiling, rate / ceiling))
    } else {
        say("ceiling: redis-benchmark did not run or its output was not understood")
    }
    let rateOK = rate >= 300_000
    let memoryOK = peak <= 50 * 1024
    say("goals: drain >= 300000 events/s: \(rateOK ? "met" : "MISSED"); "
        + "peak RSS during drain <= 50 MB: \(memoryOK ? "met" : "MISSED") (median of \(options.runs) runs)")
    try? FileManager.default.removeItem(atPath: workDirectory)
    exit(verified ? 0 : 1)
} catch {
    redis.stop()
    try? FileManager.default.removeItem(atPath: workDirectory)
    fail("\(error)")
}

// dirobs-bench-drain: how fast the forwarder drains a large outbox backlog to Redis, and how much memory
// the process needs meanwhile (tools/bench-drain).
//
// It starts its own redis-server on a free loopback port (`--save '' --appendonly no`), builds an outbox
// holding N pending events (default 1,000,000; two queues, realistic 20–40 byte names) in large
// transactions, then drains it with `Drain.run` while a sampler thread reads VmRSS every 50 ms; `--runs`
// times (default 3) on a fresh backlog each, and the median rate counts. Then it runs
// `redis-benchmark -t lpush -P 64` against the same server as the ceiling and prints the ratio.
// Exits 1 when a run's lists do not hold exactly the events of the backlog.

import BenchSupport
import DirectoryObserver
import Foundation
import Glibc
import Logging

let options = DrainOptions.parse(Array(CommandLine.arguments.dropFirst()))
var template = Array("/tmp/dirobs-bench-drain-XXXXXX".utf8CString)
guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
    BenchOutput.fail("dirobs-bench-drain: mkdtemp failed")
}
let workDirectory = String(cString: made)

var logger = Logger(label: "dirobs-bench-drain") { StreamLogHandler.standardError(label: $0) }
logger.logLevel = .warning

let redis = RedisChild(directory: workDirectory)
let report = DrainReport(options: options)
report.header(redisPort: redis.port)
let drain = DrainRun(options: options, redis: redis, logger: logger)

do {
    var runs: [DrainRun.Measurement] = []
    for run in 1...options.runs {
        report.runStarted(run)
        let outbox = workDirectory + "/bench-\(run).outbox.sqlite3"
        defer {
            for suffix in ["", "-wal", "-shm"] { unlink(outbox + suffix) }
        }
        report.backlogBuilt(seconds: try buildBacklog(path: outbox, count: options.events))
        let measurement = try drain.measure(outbox: outbox)
        report.drained(measurement)
        runs.append(measurement)
    }
    let ceiling = lpushCeiling(port: redis.port)
    redis.stop()
    report.summary(runs, ceiling: ceiling)
    try? FileManager.default.removeItem(atPath: workDirectory)
    exit(runs.allSatisfy(\.verified) ? 0 : 1)
} catch {
    redis.stop()
    try? FileManager.default.removeItem(atPath: workDirectory)
    BenchOutput.fail("dirobs-bench-drain: \(error)")
}

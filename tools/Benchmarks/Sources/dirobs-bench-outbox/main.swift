// dirobs-bench-outbox: throughput of the outbox's write and read paths and the writer's stall while it
// prunes (tools/bench-outbox). Plain argument parsing on purpose: the tool is for developers.
import BenchSupport

let options = OutboxBenchmarkOptions.parse(Array(CommandLine.arguments.dropFirst()))
let benchmark = OutboxBenchmark(options: options)
let report = OutboxBenchmarkReport(options: options)
do {
    try benchmark.inWorkingDirectory {
        report.header(directory: benchmark.directory)
        report.appendAndRead(try benchmark.measureAppendAndRead())
        report.prune(try benchmark.measurePrune())
    }
} catch {
    BenchOutput.fail("dirobs-bench-outbox: \(error)")
}

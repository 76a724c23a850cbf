import BenchSupport
import Glibc

/// The command line of `dirobs-bench-outbox`.
struct OutboxBenchmarkOptions {
    /// Events appended (then read) per run.
    var events = 500_000
    /// Runs of the append and read measurements; the median counts.
    var runs = 3
    /// Delivered rows the prune measurement removes.
    var pruneRows = 1_000_000
    /// Where the outboxes go; a new directory under the temporary directory when nil.
    var directory: String?

    static let usage = "usage: dirobs-bench-outbox [--events N] [--runs N] [--prune-rows N] [--dir DIR]"

    /// Parses `arguments` (without the program name); prints the usage and exits 64 on anything else.
    static func parse(_ arguments: [String]) -> OutboxBenchmarkOptions {
        var options = OutboxBenchmarkOptions()
        var remaining = arguments[...]
        while let option = remaining.popFirst() {
            if option == "-h" || option == "--help" {
                BenchOutput.line(usage)
                exit(0)
            }
            guard let value = remaining.popFirst() else {
                BenchOutput.fail("dirobs-bench-outbox: \(option) needs a value\n\(usage)", status: 64)
            }
            switch option {
            case "--events": options.events = positive(value, option)
            case "--runs": options.runs = positive(value, option)
            case "--prune-rows": options.pruneRows = positive(value, option)
            case "--dir": options.directory = value
            default: BenchOutput.fail("dirobs-bench-outbox: unknown option \(option)\n\(usage)", status: 64)
            }
        }
        return options
    }

    private static func positive(_ text: String, _ option: String) -> Int {
        guard let value = Int(text), value > 0 else {
            BenchOutput.fail(
                "dirobs-bench-outbox: \(option) wants a positive integer, not \(text)\n\(usage)", status: 64)
        }
        return value
    }
}

import BenchSupport
import DirectoryObserver
import Glibc

/// The command line of `dirobs-bench-drain`.
struct DrainOptions {
    var events = 1_000_000
    var batchSize = 4_000
    var sync: OutboxSettings.Sync = .full
    var runs = 3

    static let usage = "usage: dirobs-bench-drain [--events N] [--batch N] [--sync full|normal] [--runs N]"

    static func parse(_ arguments: [String]) -> DrainOptions {
        var options = DrainOptions()
        var index = 0
        func value() -> String {
            index += 1
            guard index < arguments.count else { BenchOutput.fail("dirobs-bench-drain: \(usage)") }
            return arguments[index]
        }
        while index < arguments.count {
            switch arguments[index] {
            case "--events": options.events = number(value())
            case "--batch": options.batchSize = number(value())
            case "--runs": options.runs = number(value())
            case "--sync":
                guard let sync = OutboxSettings.Sync(rawValue: value()) else {
                    BenchOutput.fail("dirobs-bench-drain: \(usage)")
                }
                options.sync = sync
            case "-h", "--help":
                BenchOutput.line(usage)
                exit(0)
            default: BenchOutput.fail("dirobs-bench-drain: \(usage)")
            }
            index += 1
        }
        guard options.events > 0, options.batchSize > 0, options.runs > 0 else {
            BenchOutput.fail("dirobs-bench-drain: \(usage)")
        }
        return options
    }

    private static func number(_ text: String) -> Int {
        guard let value = Int(text) else { BenchOutput.fail("dirobs-bench-drain: \(usage)") }
        return value
    }
}

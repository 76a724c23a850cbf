import ArgumentParser
import DirectoryObserver
import Foundation

/// `--config FILE | --outbox PATH`, shared by the `outbox` commands and `replay`: which outbox to open.
/// `--outbox` wins when both are given; the configuration, when given, is still loaded (and must be valid)
/// because `outbox stats` lists its queues.
struct OutboxLocationOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The configuration file naming the outbox.", valueName: "FILE"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("The outbox file (wins over --config).", valueName: "PATH"))
    var outbox: String?

    func validate() throws {
        guard config != nil || outbox != nil else {
            throw ValidationError("give the outbox with --config FILE or --outbox PATH")
        }
    }

    /// The outbox path and the configured queues (in configuration order; none without `--config`).
    func resolve() throws -> (path: String, queues: [String]) {
        guard let config else { return (outbox ?? "", []) }
        let configuration = try ConfigLoader.load(path: config, environment: ProcessInfo.processInfo.environment)
        return (outbox ?? configuration.outbox.path, configuration.monitors.map(\.queue))
    }
}

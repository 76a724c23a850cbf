import ArgumentParser
import DirectoryObserver
import Foundation
import Logging

/// `directory_observer drain --config FILE`: forwards every pending event now and exits 0 when none is
/// left. Refuses while a daemon holds the outbox, and never creates an outbox.
struct DrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drain",
        abstract: "Forward every pending event now; exit 0 when none is left."
    )

    @OptionGroup var options: ConfigOptions

    func run() throws {
        let configuration = try ConfigLoader.load(path: options.config, environment: ProcessInfo.processInfo.environment)
        let path = configuration.outbox.path
        guard FileManager.default.fileExists(atPath: path) else {
            throw OutboxError(path: path, reason: .missing)
        }
        let lock = try OutboxLock(outbox: path)
        defer { lock.release() }
        _ = try LogBootstrap.start(path: nil, level: .warning)
        let logger = Logger(label: "directory_observer.drain")
        // As for the daemon: an outbox removed or replaced under drain stops it at once (status 75), after
        // the writer's one error line, instead of draining files no other process can see.
        let writer = try OutboxWriter(settings: configuration.outbox, logger: logger, onDetached: { _ in
            _exit(CommandFailure.busyExitStatus)
        })
        defer { writer.stop() }
        let outcome = try Drain.run(settings: ForwarderSettings(configuration: configuration), writer: writer, logger: logger)
        print("drained \(outcome.settled) events" + (outcome.dead > 0 ? " (\(outcome.dead) dead events stay in the outbox)" : ""))
    }
}

import ArgumentParser
import DirectoryObserver
import Foundation
import Glibc
import Logging

/// `directory_observer [run] --config FILE`: the daemon. Runs until SIGTERM or SIGINT (exit 0 after an
/// orderly stop); SIGHUP reopens the `--log` file.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Watch the configured directories and forward every new file to Redis (the default command)."
    )

    @OptionGroup var options: ConfigOptions

    @Option(name: .long, help: ArgumentHelp("Append the log to FILE instead of stdout.", valueName: "FILE"))
    var log: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info (default), warning, error or critical.")
    var logLevel: Logger.Level = .info

    @Option(name: .long, help: ArgumentHelp("Use this outbox file instead of the configured one.", valueName: "PATH"))
    var outbox: String?

    func run() throws {
        var configuration = try ConfigLoader.load(path: options.config, environment: ProcessInfo.processInfo.environment)
        if let outbox { configuration.outbox.path = outbox }
        signal(SIGPIPE, SIG_IGN)
        let signals = SignalWaiter(signals: [SIGTERM, SIGINT, SIGHUP])
        let destination = try LogBootstrap.start(path: log, level: logLevel)
        let logger = Logger(label: "directory_observer")
        // The writer has logged the one error line and committed nothing more: leave at once, as kill -9
        // would, so no shutdown step touches the orphaned files.
        let daemon = try Daemon(configuration: configuration, logger: logger) { _ in
            _exit(CommandFailure.busyExitStatus)
        }
        while true {
            let number = signals.next()
            if number == SIGHUP {
                destination.reopen()
                logger.info("log file reopened")
                continue
            }
            logger.info("signal received", metadata: ["signal": "\(number == SIGTERM ? "SIGTERM" : "SIGINT")"])
            daemon.stop()
            return
        }
    }
}

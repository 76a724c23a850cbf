import ArgumentParser
import DirectoryObserver
import Glibc

/// The `directory_observer` executable: `run` (the default), `check-config`, `outbox …`, `replay`, `drain`.
/// Every failure ends as one line on stderr and a non-zero exit: no usage text, no stack trace.
@main
struct DirectoryObserverCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "directory_observer",
        abstract: "Watch directories and announce every new file on a Redis list, through a durable outbox.",
        subcommands: [Run.self, CheckConfig.self, Outbox.self, Replay.self, DrainCommand.self],
        defaultSubcommand: Run.self
    )

    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withOneLine: error)
        }
    }

    /// Prints help to stdout (exit 0), or the error's message as one line on stderr with its exit code.
    private static func exit(withOneLine error: any Error) -> Never {
        let code = exitCode(for: error)
        if code == .success {
            print(fullMessage(for: error))
            Glibc.exit(0)
        }
        let message = CommandFailure.oneLine(for: error) ?? message(for: error)
        let line = CommandFailure.joinedOnOneLine(message)
        var standardError = StandardError()
        print("directory_observer: \(line)", to: &standardError)
        Glibc.exit(CommandFailure.exitStatus(for: error) ?? (code.rawValue == 0 ? 1 : code.rawValue))
    }
}

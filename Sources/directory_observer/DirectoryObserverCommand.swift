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
        version: ProductVersion.line,
        subcommands: [Run.self, CheckConfig.self, Outbox.self, Replay.self, DrainCommand.self],
        defaultSubcommand: Run.self
    )

    static func main() {
        do {
            try rejectUnknownCommand(Array(CommandLine.arguments.dropFirst()))
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withOneLine: error)
        }
    }

    /// A first word that is neither an option nor a command would otherwise reach the default command,
    /// `run`, and come back as a puzzling "Missing expected argument '--config'".
    private static func rejectUnknownCommand(_ arguments: [String]) throws {
        guard let first = arguments.first, !first.hasPrefix("-") else { return }
        let names = configuration.subcommands.map { $0._commandName }
        guard !names.contains(first), first != "help" else { return }
        throw ValidationError("unknown command '\(first)' (commands: \(names.joined(separator: ", ")))")
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

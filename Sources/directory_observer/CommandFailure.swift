import DirectoryObserver
import Foundation

/// Maps the library's typed errors to the one line and exit status the command line promises.
enum CommandFailure {
    /// EX_CONFIG: the configuration is wrong.
    static let configExitStatus: Int32 = 78
    /// EX_UNAVAILABLE: a service (Redis) could not be reached.
    static let unavailableExitStatus: Int32 = 69
    /// EX_TEMPFAIL: something else holds the outbox.
    static let busyExitStatus: Int32 = 75

    static func oneLine(for error: any Error) -> String? {
        switch error {
        case let error as ConfigError: return error.description
        case let error as SQLiteError: return error.description
        case let error as RedisError: return error.description
        case let error as OutboxError: return error.description
        case let error as SystemError: return error.description
        case let error as DrainError: return error.description
        default: return nil
        }
    }

    static func exitStatus(for error: any Error) -> Int32? {
        switch error {
        case is ConfigError: return configExitStatus
        case is RedisError, is DrainError: return unavailableExitStatus
        case let error as OutboxError:
            if case .locked = error.reason { return busyExitStatus }
            return 1
        default: return nil
        }
    }

    /// ArgumentParser's messages may span lines ("Please provide one of the following:" then a list):
    /// the first line, then the others as a comma-separated list.
    static func joinedOnOneLine(_ message: String) -> String {
        let lines = message.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .map { $0.hasPrefix("- ") ? String($0.dropFirst(2)) : $0 }
            .filter { !$0.isEmpty }
        guard let first = lines.first else { return "failed" }
        let rest = lines.dropFirst()
        return rest.isEmpty ? first : first + " " + rest.joined(separator: ", ")
    }
}

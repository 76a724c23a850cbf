/// A failure talking to Redis. `kind` tells a dead connection (refused, reset, closed, timed out,
/// garbled) from an error reply the server sent on a healthy connection; `detail` says what happened,
/// never with a credential or a payload in it.
public struct RedisError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The connection could not be made or broke (refused, reset, unreachable…).
        case connection
        /// Connecting or waiting for a reply took longer than the configured timeout.
        case timeout
        /// The server closed the connection.
        case eof
        /// The server sent something that is not RESP.
        case `protocol`
        /// The server answered with an error reply; `prefix` is its first word (`WRONGTYPE`, `OOM`, `ERR`…).
        case reply(prefix: String)
    }

    public let kind: Kind
    public let detail: String

    public init(kind: Kind, detail: String) {
        self.kind = kind
        self.detail = detail
    }

    /// An error reply from the server, classified by its first word; for an error raised inside a script
    /// and wrapped by a server older than 7.0 (`ERR Error running script (call to f_…): @user_script:17:
    /// -OOM …`), by the code of the error inside, so a passing state is not taken for the batch's fault.
    public static func reply(_ text: String) -> RedisError {
        let prefix = wrappedScriptErrorCode(text) ?? String(text.prefix { $0 != " " })
        return RedisError(kind: .reply(prefix: prefix), detail: text)
    }

    /// The code of the error a pre-7.0 server wrapped in `ERR Error running script`: the first word after
    /// the script's name and its `@user_script:N:` positions, when it is made of capital letters alone (a
    /// leading `-` dropped); nil otherwise.
    static func wrappedScriptErrorCode(_ text: String) -> String? {
        guard text.hasPrefix("ERR Error running script"), let nameEnd = text.firstIndex(of: ")") else { return nil }
        let words = text[text.index(after: nameEnd)...].split(separator: " ")
        guard let word = words.first(where: { !$0.hasPrefix("@") && !$0.allSatisfy { $0.isNumber || $0 == ":" } })
        else { return nil }
        let code = word.hasPrefix("-") ? word.dropFirst() : word[...]
        guard code.count >= 2, code.allSatisfy({ $0 >= "A" && $0 <= "Z" }) else { return nil }
        return String(code)
    }

    /// Error-reply prefixes that describe a passing state of the server, not a problem with the data.
    public static let transientReplyPrefixes: Set<String> = [
        "LOADING", "BUSY", "OOM", "READONLY", "MASTERDOWN", "NOAUTH", "TRYAGAIN", "CLUSTERDOWN", "MISCONF",
        "NOREPLICAS",
    ]

    /// True when the connection is unusable and must be dropped.
    public var isConnectionLevel: Bool {
        if case .reply = kind { return false }
        return true
    }

    /// True when retrying later can succeed without anyone changing the data or the configuration: every
    /// connection-level failure and the server-state replies (`LOADING`, `OOM`, `READONLY`, `MISCONF`, …).
    public var isTransient: Bool { failureClass == .unavailable }

    public var description: String {
        switch kind {
        case .connection: return "Redis connection failed: \(detail)"
        case .timeout: return "Redis timed out: \(detail)"
        case .eof: return "Redis closed the connection: \(detail)"
        case .protocol: return "Redis protocol error: \(detail)"
        case .reply: return "Redis replied with an error: \(detail)"
        }
    }
}

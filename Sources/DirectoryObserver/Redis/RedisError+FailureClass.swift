extension RedisError {
    /// What a failure says about the events that met it (SPEC §5 and §8). Only `.batch` ever counts an
    /// attempt toward `dead`: the other two say nothing about the events, which stay pending however long
    /// the failure lasts.
    public enum FailureClass: Sendable, Equatable {
        /// The connection or the server's state (refused, timeouts, resets, `LOADING`, `BUSY`, `OOM`,
        /// `READONLY`, `MASTERDOWN`, `MISCONF`, `NOREPLICAS`, `TRYAGAIN`, `CLUSTERDOWN`, `NOAUTH`): retry
        /// with backoff, forever.
        case unavailable
        /// Something only a person can fix in Redis or in the configuration (`WRONGPASS`, `NOPERM`, a
        /// Redis Cluster's `MOVED`/`ASK`/`CROSSSLOT`, a renamed or unknown command): hold, name the fix,
        /// retry at `retry_max`.
        case configuration
        /// The batch itself (`WRONGTYPE` on the queue's key, a value over Redis's limits, a counter that
        /// is not a number…): counts attempts; after `max_attempts` the batch goes `dead`.
        case batch
    }

    /// Error-reply prefixes that only a change of configuration (in Redis or in the observer) cures.
    static let configurationReplyPrefixes: Set<String> = ["WRONGPASS", "NOPERM", "MOVED", "ASK", "CROSSSLOT"]

    /// The class of this failure; see `FailureClass`.
    public var failureClass: FailureClass {
        guard case .reply(let prefix) = kind else { return .unavailable }
        if Self.transientReplyPrefixes.contains(prefix) { return .unavailable }
        if Self.configurationReplyPrefixes.contains(prefix) { return .configuration }
        if prefix == "ERR" && detail.contains("max number of clients reached") { return .unavailable }
        if prefix == "ERR" && Self.configurationErrPhrases.contains(where: { detail.contains($0) }) {
            return .configuration
        }
        return .batch
    }

    /// `ERR` replies that mean a command is missing or AUTH does not fit the server.
    private static let configurationErrPhrases = [
        "unknown command", "unknown subcommand", "called without any password configured", "no password is set",
        // NOPERM raised inside a script reaches the client as ERR with this text.
        "The user executing the script can't",
    ]

    /// For a `.configuration` failure, what a person should change, in one sentence.
    public var fix: String {
        guard case .reply(let prefix) = kind else { return "check that Redis is reachable" }
        let permission = prefix == "NOPERM" || detail.contains("The user executing the script can't")
        switch permission ? "NOPERM" : prefix {
        case "WRONGPASS":
            return "check redis_username and redis_password (or the password file or environment variable)"
        case "NOPERM":
            return "grant the ACL user EVALSHA, SCRIPT, GET, SET, LPUSH, INCRBY, LLEN and ROLE on the queue, "
                + "counter and redis_key_prefix keys"
        case "MOVED", "ASK", "CROSSSLOT":
            return "Redis Cluster is not supported: point redis_server at a standalone server or use Sentinel"
        default:
            if detail.contains("password") {
                return "the server has no password: remove redis_password (and redis_username)"
            }
            return "a command the observer needs (EVALSHA, SCRIPT, GET, SET, LPUSH, INCRBY, LLEN, ROLE) is "
                + "renamed or disabled in Redis: restore it"
        }
    }
}

/// Finds the current master through Redis Sentinel (SPEC §8): asks each sentinel in turn
/// (`SENTINEL get-master-addr-by-name`) and takes the first answer; checks with `ROLE` that a server
/// is a master. Runs on the caller's thread; every connection it opens is closed before it returns.
enum SentinelLookup {
    /// The master's address as the first sentinel that knows it says. Throws a `.connection` error naming
    /// every sentinel's failure when none answers, and a configuration error (`NOPERM`-like) when a
    /// sentinel refuses the password.
    static func master(_ settings: SentinelSettings, timeout: Double) throws(RedisError) -> RedisEndpoint {
        var failures: [String] = []
        for sentinel in settings.sentinels {
            do throws(RedisError) {
                let connection = try RedisConnection(endpoint: sentinel, timeout: timeout)
                if let password = settings.password {
                    try connection.authenticate(username: nil, password: password)
                }
                let reply = try connection.command("SENTINEL", "get-master-addr-by-name", settings.master)
                guard case .array(let parts) = reply, parts.count == 2, let host = parts[0].stringValue,
                    let port = parts[1].integerValue, (1...65_535).contains(port)
                else {
                    failures.append("\(sentinel): does not know master \(settings.master)")
                    continue
                }
                return .tcp(host: host, port: Int(port))
            } catch {
                if error.failureClass == .configuration { throw error }
                failures.append("\(sentinel): \(error)")
            }
        }
        throw RedisError(
            kind: .connection, detail: "no sentinel named the master: " + failures.joined(separator: "; "))
    }

    /// Throws a `.connection` error unless `ROLE` says the server is a master (a failover may have made the
    /// address the sentinels gave a replica by the time it is reached).
    static func checkIsMaster(_ connection: RedisConnection) throws(RedisError) {
        let reply = try connection.command("ROLE")
        guard case .array(let parts) = reply, let role = parts.first?.stringValue else {
            throw RedisError(kind: .protocol, detail: "ROLE did not answer with an array")
        }
        guard role == "master" else {
            throw RedisError(kind: .connection, detail: "\(connection.endpoint) is a \(role), not a master")
        }
    }
}

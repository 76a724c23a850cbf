/// A ready-to-use Redis connection for the forwarder: connected within the timeout to the configured
/// server, or to the master the sentinels name (checked with `ROLE`), authenticated, on the configured
/// database, with the delivery script loaded. Not Sendable: owned by the forwarder's thread. A session
/// whose connection broke is thrown away, never repaired.
final class RedisSession {
    let connection: RedisConnection
    /// Where it is connected (the master's address when found through Sentinel).
    let endpoint: RedisEndpoint
    private(set) var scriptSHA: [UInt8]

    init(settings: RedisSettings, timeout: Double) throws(RedisError) {
        if let sentinel = settings.sentinel {
            endpoint = try SentinelLookup.master(sentinel, timeout: timeout)
        } else {
            endpoint = settings.endpoint
        }
        connection = try RedisConnection(endpoint: endpoint, timeout: timeout)
        if let password = settings.password {
            try connection.authenticate(username: settings.username, password: password)
        }
        if settings.sentinel != nil {
            try SentinelLookup.checkIsMaster(connection)
        }
        if settings.database != 0 {
            try connection.select(database: settings.database)
        }
        scriptSHA = []
        try loadScript()
    }

    /// `SCRIPT LOAD`s the delivery script (again, after a `NOSCRIPT`).
    func loadScript() throws(RedisError) {
        guard case .bulk(let sha) = try connection.command("SCRIPT", "LOAD", DeliveryScript.source) else {
            throw RedisError(kind: .protocol, detail: "SCRIPT LOAD did not return a SHA")
        }
        scriptSHA = sha
    }
}

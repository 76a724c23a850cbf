/// A ready-to-use Redis connection for the forwarder: connected within the timeout, authenticated,
/// on the configured database, with the delivery script loaded. Not Sendable: owned by the forwarder's
/// thread. A session whose connection broke is thrown away, never repaired.
final class RedisSession {
    let connection: RedisConnection
    private(set) var scriptSHA: [UInt8]

    init(settings: RedisSettings, timeout: Double) throws(RedisError) {
        connection = try RedisConnection(endpoint: settings.endpoint, timeout: timeout)
        if let password = settings.password {
            try connection.authenticate(username: settings.username, password: password)
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

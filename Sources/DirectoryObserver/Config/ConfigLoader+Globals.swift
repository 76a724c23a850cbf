// MARK: - Global settings

extension ConfigLoader {
    /// A key that holds one value for the whole daemon, with its default as written in a file.
    struct GlobalKey {
        var name: String
        var defaultText: String
        /// How two spellings are compared (`10` and `10.0` agree; `NULL` and `` agree).
        var kind: Kind

        /// A password's values are never shown in messages (a `_password_file` key names a path, not a secret).
        var isSecret: Bool { name.hasSuffix("_password") }

        enum Kind {
            case text
            case caseless
            case number
            case socket
        }
    }

    /// The global keys (SPEC §3), each read from every active section.
    static let globalKeys: [GlobalKey] = [
        GlobalKey(name: "redis_server", defaultText: "127.0.0.1", kind: .text),
        GlobalKey(name: "redis_port", defaultText: "6379", kind: .number),
        GlobalKey(name: "redis_unix_socket", defaultText: "", kind: .socket),
        GlobalKey(name: "redis_username", defaultText: "", kind: .text),
        GlobalKey(name: "redis_password", defaultText: "", kind: .text),
        GlobalKey(name: "redis_password_file", defaultText: "", kind: .text),
        GlobalKey(name: "redis_db", defaultText: "0", kind: .number),
        GlobalKey(name: "redis_key_prefix", defaultText: "directory_observer", kind: .text),
        GlobalKey(name: "redis_lost_writes", defaultText: "resend", kind: .caseless),
        GlobalKey(name: "redis_sentinels", defaultText: "", kind: .text),
        GlobalKey(name: "redis_sentinel_master", defaultText: "", kind: .text),
        GlobalKey(name: "redis_sentinel_password", defaultText: "", kind: .text),
        GlobalKey(name: "redis_sentinel_password_file", defaultText: "", kind: .text),
        GlobalKey(name: "monitor_inactivitytimeout", defaultText: "300", kind: .number),
        GlobalKey(name: "outbox_path", defaultText: "", kind: .text),
        GlobalKey(name: "outbox_sync", defaultText: "full", kind: .caseless),
        GlobalKey(name: "outbox_retention", defaultText: "86400", kind: .number),
        GlobalKey(name: "outbox_max_pending", defaultText: "1000000", kind: .number),
        GlobalKey(name: "retry_initial", defaultText: "0.1", kind: .number),
        GlobalKey(name: "retry_max", defaultText: "30", kind: .number),
        GlobalKey(name: "max_attempts", defaultText: "10", kind: .number),
        GlobalKey(name: "metrics_listen", defaultText: "", kind: .text),
    ]

    /// Throws when two active sections give a global key different values, naming both sections, the key
    /// and both values (a secret's values are not shown).
    static func checkGlobalsAgree(_ sections: [SectionValues]) throws(ConfigError) {
        guard let first = sections.first else { return }
        for key in globalKeys {
            let reference = first.find(key.name)?.value ?? key.defaultText
            for other in sections.dropFirst() {
                let value = other.find(key.name)?.value ?? key.defaultText
                guard normalized(reference, key.kind) != normalized(value, key.kind) else { continue }
                let shown = key.isSecret ? "" : "=\(quoted(value))"
                throw ConfigError(
                    file: first.file, section: first.name, key: key.name, value: key.isSecret ? nil : reference,
                    reason: "[\(other.name)] has \(key.name)\(shown): active sections must agree on global keys")
            }
        }
    }

    private static func normalized(_ text: String, _ kind: GlobalKey.Kind) -> String {
        switch kind {
        case .text: return text
        case .caseless: return text.lowercased()
        case .socket: return text.lowercased() == "null" ? "" : text
        case .number: return Double(text).map { "\($0)" } ?? text
        }
    }

    private static func quoted(_ value: String) -> String {
        "'" + value + "'"
    }

    // MARK: - Typed settings (read from the first active section once all agree)

    static func redisSettings(
        _ section: SectionValues, environment: [String: String], workingDirectory: String
    ) throws(ConfigError) -> RedisSettings {
        let endpoint: RedisEndpoint
        if let socket = section.string("redis_unix_socket"), socket.lowercased() != "null" {
            endpoint = .unix(path: socket)
        } else {
            endpoint = .tcp(
                host: section.string("redis_server") ?? "127.0.0.1",
                port: try section.port("redis_port", default: 6379))
        }
        let username = section.string("redis_username")
        let password = try password(
            section, key: "redis_password", variable: passwordVariable, environment: environment,
            workingDirectory: workingDirectory)
        if username != nil, password == nil {
            // AUTH needs a password; without one the connection would silently act as the default user.
            throw section.error(
                "redis_username", section.find("redis_username"),
                "needs a password: set redis_password, redis_password_file or \(passwordVariable) "
                    + "(for an ACL user with nopass, any password), or remove redis_username")
        }
        return RedisSettings(
            endpoint: endpoint,
            username: username,
            password: password,
            database: try section.nonNegativeInt("redis_db", default: 0),
            keyPrefix: section.string("redis_key_prefix") ?? "directory_observer",
            lostWrites: try section.choice("redis_lost_writes", default: LostWritesPolicy.resend),
            sentinel: try sentinelSettings(section, environment: environment, workingDirectory: workingDirectory))
    }

    /// `<key>`, else the trimmed content of `<key>_file`, else the environment variable.
    static func password(
        _ section: SectionValues, key: String, variable: String, environment: [String: String],
        workingDirectory: String
    ) throws(ConfigError) -> String? {
        if let password = section.string(key) { return password }
        if let found = section.find(key + "_file"), !found.value.isEmpty {
            let path = absolute(found.value, against: workingDirectory)
            do throws(ConfigFileReader.Failure) {
                let text = try ConfigFileReader.text(atPath: path)
                let password = text.trimmingWhitespace()
                return password.isEmpty ? nil : password
            } catch {
                throw section.error(key + "_file", found, "the password file \(path) \(error.reason)")
            }
        }
        if let password = environment[variable], !password.isEmpty { return password }
        return nil
    }

    static func outboxSettings(
        _ section: SectionValues, environment: [String: String], workingDirectory: String
    ) throws(ConfigError) -> OutboxSettings {
        let path: String
        if let configured = section.string("outbox_path") {
            path = absolute(configured, against: workingDirectory)
        } else if let state = environment["STATE_DIRECTORY"]?.split(separator: ":").first, !state.isEmpty {
            // systemd may list several directories; the first one is the service's own.
            path = absolute(String(state) + "/" + defaultOutboxName, against: workingDirectory)
        } else {
            path = absolute(defaultOutboxName, against: workingDirectory)
        }
        return OutboxSettings(
            path: path,
            sync: try section.choice("outbox_sync", default: OutboxSettings.Sync.full),
            retention: try section.nonNegativeSeconds("outbox_retention", default: 86_400),
            maxPending: try section.nonNegativeInt("outbox_max_pending", default: 1_000_000))
    }

    static func retrySettings(_ section: SectionValues) throws(ConfigError) -> RetrySettings {
        let initial = try section.positiveSeconds("retry_initial", default: 0.1)
        let maximum = try section.positiveSeconds("retry_max", default: 30)
        guard maximum >= initial else {
            throw section.error("retry_max", section.find("retry_max"), "must not be less than retry_initial")
        }
        let attempts = try section.int("max_attempts", default: 10)
        guard attempts >= 1 else {
            throw section.error("max_attempts", section.find("max_attempts"), "must be 1 or more")
        }
        return RetrySettings(initial: initial, maximum: maximum, maxAttempts: attempts)
    }

    /// `metrics_listen`; nil (no endpoint) when unset or empty.
    static func metricsListen(_ section: SectionValues) throws(ConfigError) -> ListenAddress? {
        guard let found = section.find("metrics_listen"), !found.value.isEmpty else { return nil }
        guard let address = ListenAddress(parsing: found.value) else {
            throw section.error("metrics_listen", found, "expected host:port (127.0.0.1:9464, [::1]:9464)")
        }
        return address
    }

    /// `monitor_inactivitytimeout`; nil (off) when ≤ 0.
    static func inactivityTimeout(_ section: SectionValues) throws(ConfigError) -> Double? {
        let seconds = try section.seconds("monitor_inactivitytimeout", default: 300)
        return seconds > 0 ? seconds : nil
    }
}

// MARK: - Sentinel

extension ConfigLoader {
    /// `redis_sentinels` and `redis_sentinel_master` (both or neither), and the sentinels' password from
    /// `redis_sentinel_password`, `redis_sentinel_password_file` or the environment.
    static func sentinelSettings(
        _ section: SectionValues, environment: [String: String], workingDirectory: String
    ) throws(ConfigError) -> SentinelSettings? {
        let list = section.string("redis_sentinels")
        let master = section.string("redis_sentinel_master")
        switch (list, master) {
        case (nil, nil):
            return nil
        case (nil, .some):
            throw section.error(
                "redis_sentinel_master", section.find("redis_sentinel_master"),
                "needs redis_sentinels (host:port[,host:port…]) too")
        case (.some, nil):
            throw section.error(
                "redis_sentinels", section.find("redis_sentinels"),
                "needs redis_sentinel_master (the name the sentinels monitor) too")
        case (.some(let list), .some(let master)):
            var sentinels: [RedisEndpoint] = []
            for item in list.split(separator: ",") {
                let text = IniFile.trim(item)
                guard !text.isEmpty else { continue }
                guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
                    (1...65_535).contains(port), colon != text.startIndex
                else {
                    throw section.error(
                        "redis_sentinels", section.find("redis_sentinels"),
                        "'\(text)' is not host:port (a port 1-65535)")
                }
                var host = String(text[..<colon])
                if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
                sentinels.append(.tcp(host: host, port: port))
            }
            guard !sentinels.isEmpty else {
                throw section.error("redis_sentinels", section.find("redis_sentinels"), "lists no sentinel")
            }
            let password = try password(
                section, key: "redis_sentinel_password", variable: sentinelPasswordVariable, environment: environment,
                workingDirectory: workingDirectory)
            return SentinelSettings(sentinels: sentinels, master: master, password: password)
        }
    }
}

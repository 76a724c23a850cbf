import Glibc

/// Reads a configuration file in the original `directory_observer`'s INI layout (SPEC §3) and returns a
/// fully validated `Configuration`: every default applied, every pattern compiled, every global key agreed
/// on by the active sections. Any problem is one `ConfigError` naming the file, the section, the key and the
/// value. The environment is passed in, never read from the process, so the result depends only on the
/// arguments, the working directory and the files read.
public enum ConfigLoader {
    /// The environment variable selecting `key[variant]` values; `GENERIC` when unset.
    public static let variantVariable = "MFCONFIG"
    /// The environment variable holding the Redis password when the file gives none.
    public static let passwordVariable = "DIRECTORY_OBSERVER_REDIS_PASSWORD"
    /// The environment variable holding the sentinels' password when the file gives none.
    public static let sentinelPasswordVariable = "DIRECTORY_OBSERVER_REDIS_SENTINEL_PASSWORD"
    /// The file name of the outbox when `outbox_path` is not set.
    public static let defaultOutboxName = "directory_observer.outbox.sqlite3"

    /// Loads `path` (relative paths against the process's working directory, then, when `MFMODULE` is set,
    /// under `$<MFMODULE>_HOME/config_auto/` and `$<MFMODULE>_HOME/config/`).
    public static func load(path: String, environment: [String: String]) throws(ConfigError) -> Configuration {
        try load(path: path, environment: environment, workingDirectory: currentDirectory())
    }

    /// Loads `path` as `load(path:environment:)` does, with relative paths (the file, `outbox_path`,
    /// `redis_password_file`) taken against `workingDirectory`.
    public static func load(
        path: String, environment: [String: String], workingDirectory: String
    ) throws(ConfigError) -> Configuration {
        let file = try locate(path, environment: environment, workingDirectory: workingDirectory)
        let text: String
        do throws(ConfigFileReader.Failure) {
            text = try ConfigFileReader.text(atPath: file)
        } catch {
            throw ConfigError(file: file, reason: error.reason)
        }
        let ini = try IniFile(path: file, text: text)
        let variant = (environment[variantVariable].flatMap { $0.isEmpty ? nil : $0 } ?? "GENERIC").lowercased()
        let sections = try resolveSections(of: ini, variant: variant, environment: environment)

        var monitors: [MonitorConfig] = []
        var activeSections: [SectionValues] = []
        for section in sections {
            guard let monitor = try monitor(in: section) else { continue }
            monitors.append(monitor)
            activeSections.append(section)
        }
        guard let first = activeSections.first else {
            throw ConfigError(
                file: file,
                reason: "no active monitor: no section has active=true (1/yes/true/on) and a directory")
        }
        try checkGlobalsAgree(activeSections)
        return Configuration(
            file: file, monitors: monitors,
            redis: try redisSettings(first, environment: environment, workingDirectory: workingDirectory),
            outbox: try outboxSettings(first, environment: environment, workingDirectory: workingDirectory),
            retry: try retrySettings(first),
            inactivityTimeout: try inactivityTimeout(first),
            metricsListen: try metricsListen(first),
            unknownKeys: unknownKeys(in: ini))
    }

    // MARK: - Locating the file

    /// The absolute path of the file to read: `path` when it exists, else the MetWork locations.
    static func locate(
        _ path: String, environment: [String: String], workingDirectory: String
    ) throws(ConfigError) -> String {
        let direct = absolute(path, against: workingDirectory)
        if path.hasPrefix("/") || ConfigFileReader.exists(direct) { return direct }

        var tried: [String] = []
        if let module = environment["MFMODULE"], !module.isEmpty,
            let home = environment["\(module)_HOME"], !home.isEmpty
        {
            for folder in ["config_auto", "config"] {
                let candidate = absolute(home + "/" + folder + "/" + path, against: workingDirectory)
                if ConfigFileReader.exists(candidate) { return candidate }
                tried.append(candidate)
            }
        }
        let also = tried.isEmpty ? "" : " (also looked for \(tried.joined(separator: " and ")))"
        throw ConfigError(file: direct, reason: "no such file\(also)")
    }

    /// `path` made absolute against `base`, with `.` and empty components removed.
    static func absolute(_ path: String, against base: String) -> String {
        let joined = path.hasPrefix("/") ? path : base + "/" + path
        let parts = joined.split(separator: "/").filter { $0 != "." }
        return "/" + parts.joined(separator: "/")
    }

    /// The process's working directory (`/` if it cannot be known).
    private static func currentDirectory() -> String {
        guard let buffer = getcwd(nil, 0) else { return "/" }
        defer { free(buffer) }
        return String(cString: buffer)
    }
}

import DirectoryObserver
import Foundation
import Glibc
import Testing

/// The operator-facing command line of SPEC §9: unknown-key warnings and `check-config --strict`,
/// `--version`, and `--log-format json`.
@Suite("Operating it: command line", .timeLimit(.minutes(2)))
struct OperatingCommandLineTests {
    private func writeConfig(_ text: String, in directory: TemporaryDirectory) throws -> String {
        let path = directory.appending("observer.ini")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private func configWithTypos(watching directory: TemporaryDirectory) -> String {
        """
        [common]
        redis_prot=6380

        [redis]
        port=6380

        [watch]
        active=true
        directory=\(directory.path)
        queue=q
        directroy=/elsewhere
        """
    }

    @Test("check-config warns once per unknown key on stderr, exits 0; --strict exits 78 with one more line")
    func strictFailsOnUnknownKeys() throws {
        let directory = try TemporaryDirectory(prefix: "dirobs-strict")
        let config = try writeConfig(configWithTypos(watching: directory), in: directory)
        let lenient = try ObserverBinary.run(["check-config", "--config", config])
        #expect(lenient.status == 0)
        #expect(
            lenient.stderrLines == [
                "directory_observer: warning: \(config): [common] redis_prot (line 2): unknown key, ignored; did you mean 'redis_port'?",
                "directory_observer: warning: \(config): [redis] port (line 5): unknown key, ignored; did you mean 'redis_port'?",
                "directory_observer: warning: \(config): [watch] directroy (line 11): unknown key, ignored; did you mean 'directory'?",
            ])
        #expect(lenient.stdoutText.contains("watch"))

        let strict = try ObserverBinary.run(["check-config", "--config", config, "--strict"])
        #expect(strict.status == 78)
        #expect(strict.stderrLines.count == 4)
        #expect(
            strict.stderrLines.last
                == "directory_observer: \(config): 3 unknown keys (--strict); see the warnings above")
        #expect(strict.stdout.isEmpty)
    }

    @Test("the original's layout passes check-config --strict with nothing on stderr")
    func originalLayoutIsStrictClean() throws {
        let directory = try TemporaryDirectory(prefix: "dirobs-strict")
        let original = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "Fixtures/original-layout.ini")
        let config = try writeConfig(try String(contentsOf: original, encoding: .utf8), in: directory)
        let result = try ObserverBinary.run(["check-config", "--config", config, "--strict"])
        #expect(result.status == 0)
        #expect(result.stderr == "")
    }

    @Test("the daemon logs one warning per unknown key at start, naming file, section, key and suggestion")
    func daemonWarnsAtStart() async throws {
        let setup = try DaemonSetup(port: 1, extra: "redis_prot=6380")
        let daemon = try await setup.start()
        daemon.send(SIGTERM)
        _ = try await daemon.exitStatus(within: 10)
        let warnings = daemon.stdoutLines.filter { $0.contains("unknown key") }
        #expect(warnings.count == 1, "\(daemon.stdout)")
        let warning = warnings.first ?? ""
        #expect(warning.contains(" warning unknown key in the configuration; it is ignored "))
        #expect(warning.contains("config.file=\(setup.configPath)"))
        #expect(warning.contains("config.section=common"))
        #expect(warning.contains("config.key=redis_prot"))
        #expect(warning.contains("config.did_you_mean=redis_port"))
    }

    @Test("--version prints one line: release, outbox schema, SQLite and hiredis versions")
    func version() throws {
        let result = try ObserverBinary.run(["--version"])
        #expect(result.status == 0)
        #expect(result.stderr == "")
        let lines = result.stdoutText.split(separator: "\n")
        #expect(lines.count == 1)
        let pattern =
            #"^directory_observer \d+\.\d+\.\d+ \(outbox schema (\d+), SQLite 3\.\d+\.\d+, hiredis \d+\.\d+\.\d+\)$"#
        let match = try Regex(pattern).wholeMatch(in: String(lines.first ?? ""))
        #expect(match != nil, "\(result.stdoutText)")
        #expect(result.stdoutText.contains("outbox schema \(Migrations.latestVersion),"))
    }

    @Test("--log-format json: every line is one JSON object with ts (ISO 8601 UTC), level and msg")
    func jsonLogLinesParse() async throws {
        let server = try RedisServer()
        let setup = try DaemonSetup(port: server.port, extra: "redis_prot=6380")
        let daemon = try await setup.start(["--log-format", "json", "--log-level", "trace"])
        try Files.create(setup.watched + "/a \"quoted\" name.txt")
        _ = try await eventually(within: 10) { try server.list("q").isEmpty ? nil : true }
        daemon.send(SIGTERM)
        #expect(try await daemon.exitStatus(within: 10) == 0)
        let lines = daemon.stdoutLines
        #expect(lines.count >= 5, "\(daemon.stdout)")
        let timestamp = try Regex(#"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$"#)
        var messages: [String] = []
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            try #require(object != nil, "not a JSON object: \(line)")
            let ts = object?["ts"] as? String ?? ""
            #expect(try timestamp.wholeMatch(in: ts) != nil, "\(line)")
            #expect(
                ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(
                    object?["level"] as? String ?? ""), "\(line)")
            messages.append(object?["msg"] as? String ?? "")
            if (object?["msg"] as? String) == "unknown key in the configuration; it is ignored" {
                #expect(object?["config.key"] as? String == "redis_prot")
            }
        }
        #expect(messages.contains("directory_observer started"))
        #expect(messages.contains("directory_observer stopped"))
        #expect(messages.contains("unknown key in the configuration; it is ignored"))
    }
}

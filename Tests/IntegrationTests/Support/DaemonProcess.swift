import DirectoryObserver
import Foundation
import Glibc

/// One run of the `directory_observer` binary, started with Foundation's `Process` in its own temporary
/// directory, with stdout and stderr captured in files there. Signals go to its pid with `kill(2)`;
/// a run still alive when the object goes away is killed with SIGKILL (never `terminate()`, see STYLE §8).
/// Not Sendable: one test owns it.
final class DaemonProcess {
    let process = Process()
    let stdoutPath: String
    let stderrPath: String

    /// Starts `directory_observer ARGUMENTS` with `workingDirectory` as its current directory and the test's
    /// environment plus `environment`.
    init(
        _ arguments: [String], in workingDirectory: TemporaryDirectory, name: String = "daemon",
        environment: [String: String] = [:]
    ) throws {
        stdoutPath = workingDirectory.appending("\(name).stdout")
        stderrPath = workingDirectory.appending("\(name).stderr")
        guard FileManager.default.createFile(atPath: stdoutPath, contents: nil),
            FileManager.default.createFile(atPath: stderrPath, contents: nil)
        else { throw SystemError(call: "creat(\(stdoutPath))", errno: errno) }
        process.executableURL = URL(fileURLWithPath: try Executables.directoryObserver())
        process.arguments = arguments
        process.currentDirectoryURL = workingDirectory.url
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle(forWritingAtPath: stdoutPath)
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        try process.run()
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    var pid: pid_t { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    func send(_ signal: Int32) {
        kill(pid, signal)
    }

    var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// stdout split in lines, without the empty one after the last newline.
    var stdoutLines: [String] { stdout.split(separator: "\n").map(String.init) }
    var stderrLines: [String] { stderr.split(separator: "\n").map(String.init) }

    /// Waits up to `seconds` for the process to end; its exit status, or nil if it is still running
    /// (or was ended by a signal, reported as `-signal`).
    func exitStatus(within seconds: Double) async throws -> Int32? {
        let ended = try await eventually(within: seconds) { process.isRunning ? nil : true }
        guard ended != nil else { return nil }
        process.waitUntilExit()
        return process.terminationReason == .exit ? process.terminationStatus : -process.terminationStatus
    }

    /// Waits up to `seconds` until the text of `file` (stdout by default) contains `text`.
    func waitFor(_ text: String, in file: String? = nil, within seconds: Double = 10) async throws -> Bool {
        let path = file ?? stdoutPath
        return try await eventually(within: seconds) { () -> Bool? in
            let content = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            return content.contains(text) ? true : nil
        } ?? false
    }
}

/// The daemon's environment for one test: a temporary directory holding the watched directory `in`,
/// the configuration file and (by default) the outbox.
struct DaemonSetup {
    let temporary: TemporaryDirectory
    let watched: String
    let configPath: String
    let outboxPath: String

    /// Writes a configuration with one monitor on `in` (queue `q`, counter `q:count`) and Redis at
    /// 127.0.0.1:`port`. Short retries, so a Redis that comes back is used within a second or two.
    init(port: Int, outboxPath: String? = nil, extra: String = "") throws {
        temporary = try TemporaryDirectory(prefix: "dirobs-daemon")
        watched = temporary.appending("in")
        try FileManager.default.createDirectory(atPath: watched, withIntermediateDirectories: false)
        configPath = temporary.appending("observer.ini")
        self.outboxPath = outboxPath ?? temporary.appending("outbox.sqlite3")
        let text = """
            [common]
            active=false
            redis_server=127.0.0.1
            redis_port=\(port)
            redis_unix_socket=null
            outbox_path=\(self.outboxPath)
            timeout=2
            retry_initial=0.1
            retry_max=0.5
            forced_poll=0
            poll_queue_limit=10000
            \(extra)

            [watch:common]
            active=true
            directory=\(watched)
            queue=q
            counter=q:count
            """
        try text.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    /// Starts the daemon on this configuration with more arguments, and waits until it says it started
    /// (its watches are armed by then).
    func start(
        _ arguments: [String] = [], name: String = "daemon", waitForStart: Bool = true,
        environment: [String: String] = [:]
    ) async throws -> DaemonProcess {
        let daemon = try DaemonProcess(
            ["--config=\(configPath)"] + arguments, in: temporary, name: name, environment: environment)
        if waitForStart {
            let logFile = arguments.firstIndex(of: "--log").map { arguments[$0 + 1] }
            guard try await daemon.waitFor("directory_observer started", in: logFile) else {
                throw DaemonStartFailure(stdout: daemon.stdout, stderr: daemon.stderr)
            }
        }
        return daemon
    }
}

struct DaemonStartFailure: Error, CustomStringConvertible {
    let stdout: String
    let stderr: String
    var description: String { "the daemon did not report its start; stdout: \(stdout) stderr: \(stderr)" }
}

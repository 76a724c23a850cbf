import DirectoryObserver
import Foundation
import Glibc

/// The built `directory_observer` executable: `$DIRECTORY_OBSERVER_BIN`, else
/// `<package root>/.build/debug/directory_observer`. `run` waits for the command and captures its output.
enum ObserverBinary {
    /// What a finished command left behind.
    struct Result {
        let status: Int32
        let stdout: [UInt8]
        let stderr: String

        var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
        /// The stderr lines, without the final newline.
        var stderrLines: [Substring] { stderr.split(separator: "\n", omittingEmptySubsequences: false).dropLast() }
    }

    static var path: String {
        if let path = ProcessInfo.processInfo.environment["DIRECTORY_OBSERVER_BIN"], !path.isEmpty { return path }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/directory_observer").path
    }

    /// Runs the binary with `arguments` in `directory` and waits for it. Output goes to scratch files (no
    /// pipe can fill up and block the command), read back once it has exited. `clockShift` moves the
    /// command's clock (`Clock.shiftVariable`) so a test can run it "days later".
    static func run(_ arguments: [String], in directory: String? = nil, clockShift: Double = 0) throws -> Result {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("dirobs-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let outURL = scratch.appendingPathComponent("stdout")
        let errURL = scratch.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        if clockShift != 0 { process.environment = environment(clockShift: clockShift) }
        process.standardOutput = try FileHandle(forWritingTo: outURL)
        process.standardError = try FileHandle(forWritingTo: errURL)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, stdout: Array(try Data(contentsOf: outURL)),
            stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
    }

    /// This process's environment with the command's clock moved by `clockShift` seconds.
    static func environment(clockShift: Double) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment[Clock.shiftVariable] = String(clockShift)
        return environment
    }

    /// Starts the daemon (`--config FILE --log LOG`) and returns its process; stop it with `stop(_:)`.
    static func startDaemon(config: String, log: String, clockShift: Double = 0) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["--config=\(config)", "--log", log]
        if clockShift != 0 { process.environment = environment(clockShift: clockShift) }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// SIGTERM, up to 10 s for an orderly stop, then SIGKILL (a blocked SIGTERM cannot hang the test).
    static func stop(_ process: Process) {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning, Date() < deadline { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}

import DirectoryObserver
import Foundation
import Glibc
import Testing

/// An idle daemon sleeps: with no file arriving, no timer the configuration asked for and every
/// directory present, none of its threads wakes up (issue 15: the forwarder used to poll the outbox
/// twice a second and the writer once a second for pruning).
@Suite("Daemon binary: idle", .timeLimit(.minutes(1)))
struct DaemonIdleTests {
    /// Context switches of every thread of `pid` so far (voluntary and involuntary).
    static func contextSwitches(of pid: pid_t) -> Int {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.reduce(0) { total, task in
            let status = (try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/status", encoding: .utf8)) ?? ""
            return total
                + status.split(separator: "\n").filter { $0.contains("ctxt_switches") }
                .compactMap { Int($0.split(separator: "\t").last ?? "") }.reduce(0, +)
        }
    }

    @Test("after its last event, an idle daemon's threads do not wake: at most 3 context switches in 3 s")
    func idleDaemonSleeps() async throws {
        let server = try RedisServer()
        let setup = try DaemonSetup(port: server.port)
        let daemon = try await setup.start()
        try Files.create(setup.watched + "/only.csv")
        try #require(try await eventually(within: 10) { try server.list("q").count == 1 ? true : nil } != nil)
        // Past the writer's log check (2 s after the last commit) and the change signal's settle delay.
        try await Task.sleep(for: .seconds(2.5))
        let before = Self.contextSwitches(of: daemon.pid)
        try await Task.sleep(for: .seconds(3))
        let woken = Self.contextSwitches(of: daemon.pid) - before
        #expect(woken <= 3, "\(woken) context switches in 3 s")
        daemon.send(SIGTERM)
        #expect(try await daemon.exitStatus(within: 5) == 0)
    }
}

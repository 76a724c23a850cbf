import DirectoryObserver
import Foundation
import Glibc
import Testing

/// systemd's notification protocol (SPEC §9), seen from a datagram socket the test owns as
/// `NOTIFY_SOCKET`: `READY=1` once the watches are armed, `STATUS=` on a state change, `STOPPING=1` on
/// SIGTERM, and `WATCHDOG=1` at half `WATCHDOG_USEC`, never while the writer is stuck.
@Suite("Operating it: systemd notify and watchdog", .serialized, .timeLimit(.minutes(2)))
struct SystemdNotifyTests {
    /// A daemon setup with no Redis (a free port nobody listens on) and a notification socket in its
    /// temporary directory; the daemon is started by the test with `NOTIFY_SOCKET` and what else it needs.
    private func notifySetup() throws -> (DaemonSetup, NotifySocket) {
        let setup = try DaemonSetup(port: try HTTPProbe.freePort())
        return (setup, try NotifySocket(in: setup.temporary))
    }

    private func lines(_ messages: [String]) -> [String] {
        messages.flatMap { $0.split(separator: "\n").map(String.init) }
    }

    @Test("READY=1 comes once the watches are armed: a file made right after it is announced as created")
    func readyAfterWatchesAreArmed() async throws {
        let (setup, notify) = try notifySetup()
        let daemon = try await setup.start(waitForStart: false, environment: ["NOTIFY_SOCKET": notify.path])
        let first = try await notify.waitFor(line: "READY=1", within: 10)
        try Files.create(setup.watched + "/right-after-ready")
        try #require(first != nil, "no READY=1; stdout: \(daemon.stdout)")
        #expect(first?.count == 1, "READY=1 was not the first datagram: \(first ?? [])")
        #expect(lines(first ?? []).contains { $0.hasPrefix("STATUS=watching 1 of 1 directories") })
        let listed = try await eventually(within: 10) { () -> String? in
            let result = try ObserverBinary.run(["outbox", "list", "--outbox", setup.outboxPath, "--json"])
            return result.stdoutText.contains("right-after-ready") ? result.stdoutText : nil
        }
        #expect(
            listed?.contains(#""event":"created""#) == true || listed?.contains(#""event": "created""#) == true,
            "\(listed ?? "not recorded")")
        daemon.send(SIGTERM)
        let stopping = try await notify.waitFor(line: "STOPPING=1", within: 10)
        #expect(stopping != nil)
        #expect(try await daemon.exitStatus(within: 10) == 0)
    }

    @Test("WATCHDOG=1 comes every half WATCHDOG_USEC; none while the writer waits on an outbox held by another process")
    func watchdogFollowsTheWriter() async throws {
        let (setup, notify) = try notifySetup()
        let daemon = try await setup.start(
            waitForStart: false, environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "400000"])
        try #require(try await notify.waitFor(line: "READY=1", within: 10) != nil, "stdout: \(daemon.stdout)")

        // Healthy: a ping every 0.2 s.
        _ = notify.drain()
        try await Task.sleep(for: .seconds(2))
        let healthy = lines(notify.drain()).filter { $0 == "WATCHDOG=1" }.count
        #expect((7...13).contains(healthy), "\(healthy) pings in 2 s")

        // Another process holds a write transaction: the writer cannot commit the new file's event.
        let holder = try SQLiteConnection(path: setup.outboxPath, mode: .readWrite)
        try holder.execute("BEGIN IMMEDIATE")
        try Files.create(setup.watched + "/while-held")
        let busy = try await notify.waitFor(
            line:
                "STATUS=outbox does not take commits (busy: another process holds a write transaction); watching 1 of 1 directories; Redis unreachable; 0 events pending",
            within: 10)
        #expect(busy != nil, "no status change for the held outbox")
        _ = notify.drain()
        try await Task.sleep(for: .seconds(2))
        let stuck = lines(notify.drain()).filter { $0 == "WATCHDOG=1" }.count
        #expect(stuck == 0, "\(stuck) pings while the writer was stuck")

        // Released: the event is committed and the pings come back.
        try holder.execute("ROLLBACK")
        try holder.close()
        let back = try await notify.waitFor(line: "WATCHDOG=1", within: 10)
        #expect(back != nil)
        daemon.send(SIGTERM)
        #expect(try await daemon.exitStatus(within: 10) == 0)
    }

    @Test("without WATCHDOG_USEC, or with WATCHDOG_PID naming another process, no WATCHDOG=1 is sent")
    func noWatchdogUnlessAsked() async throws {
        let (setup, notify) = try notifySetup()
        let daemon = try await setup.start(
            waitForStart: false,
            environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "200000", "WATCHDOG_PID": "1"])
        try #require(try await notify.waitFor(line: "READY=1", within: 10) != nil)
        try await Task.sleep(for: .seconds(1))
        #expect(!lines(notify.drain()).contains("WATCHDOG=1"))
        daemon.send(SIGTERM)
        #expect(try await daemon.exitStatus(within: 10) == 0)
    }
}

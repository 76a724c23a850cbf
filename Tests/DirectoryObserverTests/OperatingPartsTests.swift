import Foundation
import Glibc
import Testing

@testable import DirectoryObserver

/// The small parts behind `/healthz`, `STATUS=` and the watchdog, on their own.
@Suite("Operating it: health, heartbeat, notifier")
struct OperatingPartsTests {
    @Test("a thread is alive while it rests, or when it finished work since the last look; not when stuck in one")
    func heartbeat() {
        let beat = Heartbeat()
        let first = beat.read()
        #expect(Heartbeat.isAlive(now: first, before: nil))
        beat.working()
        let stuck = beat.read()
        #expect(Heartbeat.isAlive(now: stuck, before: first) == false)
        beat.progressed()
        let moved = beat.read()
        #expect(Heartbeat.isAlive(now: moved, before: stuck))
        #expect(Heartbeat.isAlive(now: beat.read(), before: moved) == false)
        beat.rested()
        #expect(Heartbeat.isAlive(now: beat.read(), before: beat.read()))
    }

    @Test("health: not watched yet at start; outbox failures first; Redis down is healthy")
    func healthReasons() {
        let board = HealthBoard(directories: ["/b", "/a"])
        #expect(board.snapshot().unhealthyReason == "directory not watched: /a: not watched yet (and 1 more)")
        board.watching("/a")
        board.watching("/b")
        #expect(board.snapshot().unhealthyReason == nil)
        board.redis(up: false)
        #expect(board.snapshot().unhealthyReason == nil)
        board.notWatching("/b", reason: "deleted")
        board.outboxFailing("disk full")
        #expect(board.snapshot().unhealthyReason == "outbox does not take commits: disk full")
        board.outboxCommits()
        #expect(board.snapshot().unhealthyReason == "directory not watched: /b: deleted")
    }

    @Test("the STATUS= line names what is wrong first, and the backlog")
    func statusLine() {
        let board = HealthBoard(directories: ["/a", "/b"])
        board.watching("/a")
        #expect(
            StatusLine.text(board.snapshot(), directories: 2, pending: 1234)
                == "watching 1 of 2 directories; Redis unreachable; 1234 events pending")
        board.watching("/b")
        board.redis(up: true)
        #expect(
            StatusLine.text(board.snapshot(), directories: 2, pending: nil)
                == "watching 2 of 2 directories; Redis connected")
        let before = StatusLine.key(board.snapshot())
        board.redis(up: false)
        #expect(StatusLine.key(board.snapshot()) != before)
    }

    @Test("the notifier sends one datagram to an abstract NOTIFY_SOCKET (@name), and none without one")
    func abstractSocket() throws {
        let name = "dirobs-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let receiver = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        try #require(receiver >= 0)
        defer { close(receiver) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = [0] + Array(name.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(receiver, $0, length) }
        }
        try #require(bound == 0)
        #expect(SystemdNotifier(environment: [:]) == nil)
        #expect(SystemdNotifier(environment: ["NOTIFY_SOCKET": "relative/path"]) == nil)
        let notifier = try #require(SystemdNotifier(environment: ["NOTIFY_SOCKET": "@" + name]))
        #expect(notifier.send(["READY=1", "STATUS=watching 1 of 1 directories"]))
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = buffer.withUnsafeMutableBytes { recv(receiver, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        #expect(count > 0)
        #expect(
            String(decoding: buffer[0..<max(0, count)], as: UTF8.self) == "READY=1\nSTATUS=watching 1 of 1 directories")
    }

    @Test("the watchdog period is half WATCHDOG_USEC, and none when it names another pid or is absent")
    func watchdogInterval() {
        #expect(SystemdAgent.pingInterval(environment: ["WATCHDOG_USEC": "30000000"]) == 15)
        #expect(
            SystemdAgent.pingInterval(environment: ["WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "\(getpid())"]) == 0.5)
        #expect(SystemdAgent.pingInterval(environment: ["WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"]) == nil)
        #expect(SystemdAgent.pingInterval(environment: [:]) == nil)
        #expect(SystemdAgent.pingInterval(environment: ["WATCHDOG_USEC": "soon"]) == nil)
    }
}

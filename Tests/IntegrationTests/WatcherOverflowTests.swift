import DirectoryObserver
import Foundation
import Glibc
import Testing

/// 100,000 files created as fast as a bare open/close loop can (`dirobs-burst`) into one watched
/// directory on tmpfs. The outbox must end up with an event for every file. The original lost 65–71 %
/// of such a burst to IN_Q_OVERFLOW (see compat/README.md).
///
/// On an idle machine this watcher drains the kernel queue (max_queued_events, 16,384 by default) as
/// fast as the loop fills it, so the second test provokes the overflow for real the way a loaded
/// machine does: the watcher thread and the producer share one CPU and the watcher runs at nice 19.
@Suite("Watcher: 100,000-file bursts", .serialized, .timeLimit(.minutes(2)))
struct WatcherOverflowTests {
    static let fileCount = 100_000

    @Test("a 100,000-file burst leaves one event per file in the outbox")
    func burstOfOneHundredThousand() async throws {
        let outcome = try await runBurst(starveWatcher: false)
        #expect(outcome.distinct == Self.fileCount, "\(Self.fileCount - outcome.distinct) files have no event")
        #expect(outcome.strays == 0)
    }

    @Test("IN_Q_OVERFLOW during a 100,000-file burst is followed by a listing: still one event per file")
    func overflowedBurst() async throws {
        let outcome = try await runBurst(starveWatcher: true)
        #expect(outcome.overflows >= 1, "the kernel queue did not overflow; the test proves nothing")
        #expect(outcome.exists >= 1, "no file was recovered by an overflow listing")
        #expect(outcome.distinct == Self.fileCount, "\(Self.fileCount - outcome.distinct) files have no event")
        #expect(outcome.strays == 0)
    }

    struct Outcome {
        var distinct = 0
        var created = 0
        var exists = 0
        var strays = 0
        var overflows = 0
    }

    private func runBurst(starveWatcher: Bool) async throws -> Outcome {
        let burst = try Executables.burst()
        let harness = try WatchHarness(onTmpfs: true)
        defer { harness.stop() }
        let directory = try harness.makeDirectory("burst")
        let threadsBefore = Threads.all()
        try harness.start([WatchHarness.monitor(directory, pollQueueLimit: nil)])
        // The watcher is the new thread blocked in poll(2) on two descriptors (inotify and its wake pipe).
        let watcherThreads = try await eventually(within: 5) { () -> Set<pid_t>? in
            let found = Threads.inPoll(nfds: 2).subtracting(threadsBefore)
            return found.isEmpty ? nil : found
        }
        try #require(watcherThreads != nil, "the watcher thread was not found in /proc/self/task")
        let watchers = watcherThreads ?? []
        let cpu = Threads.firstAllowedCPU()
        if starveWatcher {
            for tid in watchers {
                try Threads.pin(tid, toCPU: cpu)
                try Threads.renice(tid, to: 19)
            }
        }

        let output = Pipe()
        let producer = Process()
        producer.executableURL = URL(fileURLWithPath: burst)
        producer.arguments = [directory, String(Self.fileCount), "f"]
        producer.standardOutput = output
        let startedAt = Clock.now()
        try producer.run()
        if starveWatcher { try Threads.pin(producer.processIdentifier, toCPU: cpu) }
        let printed = output.fileHandleForReading.readDataToEndOfFile()
        producer.waitUntilExit()
        try #require(producer.terminationStatus == 0)
        let producerSeconds = try #require(
            Double(String(decoding: printed, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)))
        if starveWatcher {
            for tid in watchers { try Threads.unpin(tid) }
        }

        // Wait until every file has an event, or until the count stops growing for 5 s (60 s at most).
        var count = 0
        var lastGrowth = Clock.monotonic()
        let deadline = Clock.monotonic() + 60
        while Clock.monotonic() < deadline {
            harness.writer.flush(timeout: 30, includingListings: true)
            let now = try OutboxRows.count(in: harness.outboxPath)
            if now != count {
                count = now
                lastGrowth = Clock.monotonic()
            }
            if count >= Self.fileCount || Clock.monotonic() - lastGrowth > 5 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        // Anything a last overflow listing still had in flight.
        harness.writer.flush(timeout: 30, includingListings: true)

        let connection = try OutboxFile.open(path: harness.outboxPath, access: .inspect)
        var outcome = Outcome()
        outcome.distinct = Int(try connection.integer("SELECT count(DISTINCT filename) FROM events"))
        outcome.created = Int(try connection.integer("SELECT count(*) FROM events WHERE event = 'created'"))
        outcome.exists = Int(try connection.integer("SELECT count(*) FROM events WHERE event = 'exists'"))
        outcome.strays = Int(
            try connection.integer("SELECT count(*) FROM events WHERE substr(CAST(filename AS TEXT), 1, 1) != 'f'"))
        outcome.overflows = harness.log.messages(containing: "inotify queue overflowed").count
        let lastCommit: Double
        if case .real(let value)? = try connection.scalar("SELECT max(created_at) FROM events") {
            lastCommit = value
        } else {
            lastCommit = .nan
        }
        let twice = outcome.created + outcome.exists - outcome.distinct
        print(
            """
            burst\(starveWatcher ? " (watcher starved: one CPU shared with the producer, nice 19)" : ""): \
            \(Self.fileCount) files by dirobs-burst in \(format(producerSeconds)) s; last event committed \
            \(format(lastCommit - startedAt)) s after the producer started; \(outcome.distinct) distinct names; \
            \(outcome.created) created + \(outcome.exists) exists events (\(twice) names twice); \
            \(outcome.overflows) overflow(s)
            """)
        return outcome
    }

    private func format(_ seconds: Double) -> String {
        String(format: "%.2f", seconds)
    }
}

/// Threads of this test process, by name, and the scheduling levers an unprivileged process has over
/// them: CPU affinity and a higher nice value.
enum Threads {
    /// glibc has sched_{get,set}affinity, but only under _GNU_SOURCE, which Swift's Glibc module does not
    /// define: look them up at run time.
    private typealias Affinity = @convention(c) (pid_t, Int, UnsafeMutablePointer<cpu_set_t>) -> Int32

    private static func affinityCall(_ name: String) throws -> Affinity {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else {
            throw SystemError(call: "dlsym(\(name))", errno: ENOSYS)
        }
        return unsafeBitCast(symbol, to: Affinity.self)
    }

    private static func getAffinity(_ set: inout cpu_set_t) throws {
        guard try affinityCall("sched_getaffinity")(0, MemoryLayout<cpu_set_t>.size, &set) == 0 else {
            throw SystemError(call: "sched_getaffinity", errno: errno)
        }
    }

    /// A thread that has ended meanwhile (ESRCH) needs no affinity: the tests run in parallel, and a
    /// thread of another test found in poll(2) beside the watcher may be gone by the time it is unpinned.
    private static func setAffinity(_ tid: pid_t, _ set: inout cpu_set_t) throws {
        guard try affinityCall("sched_setaffinity")(tid, MemoryLayout<cpu_set_t>.size, &set) == 0 || errno == ESRCH
        else {
            throw SystemError(call: "sched_setaffinity(\(tid))", errno: errno)
        }
    }

    /// The ids of this process's threads.
    static func all() -> Set<pid_t> {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return Set(tasks.compactMap { pid_t($0) })
    }

    /// The threads blocked in poll(2) (x86_64 syscall 7, or ppoll, 271) on `nfds` descriptors, read from
    /// `/proc/self/task/*/syscall` ("NUMBER ARG1 ARG2 …"). Foundation's Thread names never reach the
    /// kernel on Linux, so this is how the test tells the watcher thread apart.
    static func inPoll(nfds: Int) -> Set<pid_t> {
        var found: Set<pid_t> = []
        for tid in all() {
            guard let text = try? String(contentsOfFile: "/proc/self/task/\(tid)/syscall", encoding: .utf8) else {
                continue
            }
            let fields = text.split(separator: " ")
            guard fields.count > 2, fields[0] == "7" || fields[0] == "271",
                Int(fields[2].dropFirst(2), radix: 16) == nfds
            else { continue }
            found.insert(tid)
        }
        return found
    }

    /// The lowest CPU this process may run on.
    static func firstAllowedCPU() -> Int {
        var set = cpu_set_t()
        guard (try? getAffinity(&set)) != nil else { return 0 }
        return withUnsafeBytes(of: &set) { bytes in
            for index in 0..<(bytes.count * 8) where bytes[index / 8] & (1 << (index % 8)) != 0 {
                return index
            }
            return 0
        }
    }

    /// Runs thread (or process) `tid` on `cpu` only.
    static func pin(_ tid: pid_t, toCPU cpu: Int) throws {
        var set = cpu_set_t()
        withUnsafeMutableBytes(of: &set) { bytes in bytes[cpu / 8] |= UInt8(1 << (cpu % 8)) }
        try setAffinity(tid, &set)
    }

    /// Lets `tid` run on every CPU this process may use again.
    static func unpin(_ tid: pid_t) throws {
        var set = cpu_set_t()
        try getAffinity(&set)
        try setAffinity(tid, &set)
    }

    /// Sets the nice value of one thread (Linux: PRIO_PROCESS with a thread id).
    static func renice(_ tid: pid_t, to value: Int32) throws {
        guard setpriority(__priority_which_t(PRIO_PROCESS.rawValue), id_t(tid), value) == 0 || errno == ESRCH else {
            throw SystemError(call: "setpriority(\(tid), \(value))", errno: errno)
        }
    }
}

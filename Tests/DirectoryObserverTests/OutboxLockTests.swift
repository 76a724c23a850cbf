import DirectoryObserver
import Foundation
import Glibc
import Testing

@Suite("Outbox lock")
struct OutboxLockTests {
    /// This test's own directory (a suite instance per test), removed when the test ends.
    private let directory = TemporaryDirectory()

    @Test("a second lock on the same outbox is refused and names the holder's pid")
    func secondLockIsRefused() throws {
        let outbox = directory.file("outbox.sqlite3")
        let lock = try OutboxLock(outbox: outbox)
        #expect(lock.path == outbox + ".lock")
        #expect(throws: OutboxError(path: outbox, reason: .locked(holderPID: getpid()))) {
            try OutboxLock(outbox: outbox)
        }
        lock.release()
        let again = try OutboxLock(outbox: outbox)
        again.release()
    }

    @Test("holder(ofOutbox:) names the pid while the lock is held and nil after release")
    func holderWhileHeld() throws {
        let outbox = directory.file("outbox.sqlite3")
        #expect(OutboxLock.holder(ofOutbox: outbox) == nil)
        #expect(directory.names() == [], "asking never creates the lock file")
        let lock = try OutboxLock(outbox: outbox)
        #expect(OutboxLock.holder(ofOutbox: outbox) == getpid())
        lock.release()
        #expect(OutboxLock.holder(ofOutbox: outbox) == nil)
        lock.release()
    }

    @Test("a lock held by another process names that process; once it is killed the lock is free")
    func lockOfKilledProcessDoesNotBlock() throws {
        let outbox = directory.file("outbox.sqlite3")
        let child = Process()
        child.executableURL = testChildBinary()
        child.arguments = ["hold-lock", outbox]
        let output = Pipe()
        child.standardOutput = output
        try child.run()
        var killed = false
        defer {
            if !killed {
                kill(child.processIdentifier, SIGKILL)
                child.waitUntilExit()
            }
        }
        // The child prints "locked PID" once it holds the lock.
        let line = String(decoding: readLine(output.fileHandleForReading), as: UTF8.self)
        #expect(line == "locked \(child.processIdentifier)")
        #expect(OutboxLock.holder(ofOutbox: outbox) == child.processIdentifier)
        #expect(throws: OutboxError(path: outbox, reason: .locked(holderPID: child.processIdentifier))) {
            try OutboxLock(outbox: outbox)
        }

        kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
        killed = true
        #expect(child.terminationReason == .uncaughtSignal)
        // The dead holder's pid is still written in the file, but it no longer holds the lock.
        #expect(OutboxLock.holder(ofOutbox: outbox) == nil)
        let lock = try OutboxLock(outbox: outbox)
        #expect(OutboxLock.holder(ofOutbox: outbox) == getpid())
        lock.release()
    }

    /// Reads one line (without its newline) from `handle`, or what came before end of file.
    private func readLine(_ handle: FileHandle) -> [UInt8] {
        var line: [UInt8] = []
        while let byte = try? handle.read(upToCount: 1), let first = byte.first, first != 0x0A {
            line.append(first)
        }
        return line
    }
}

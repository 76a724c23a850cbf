import DirectoryObserver
import Foundation
import Glibc
import Testing

@Suite("Outbox crash safety")
struct OutboxCrashTests {
    /// One killed child: its pid (its events' directory is `/append-forever/<pid>`) and the highest sequence
    /// number it printed as committed (-1 for none).
    private struct Round {
        var pid: Int32
        var acknowledged: Int
    }

    @Test(
        "kill -9 of a writer at a random moment loses no acknowledged event and leaves an outbox that opens",
        .timeLimit(.minutes(2)))
    func killNineLosesNothing() throws {
        var template = Array((FileManager.default.temporaryDirectory.path + "/dirobs-crash.XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer in buffer.baseAddress.flatMap { mkdtemp($0) } }
        let directory = try #require(made.map { String(cString: $0) })
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let outbox = directory + "/outbox.sqlite3"
        let testChild = URL(fileURLWithPath: try Executables.testChild())

        var rounds: [Round] = []
        for round in 0..<50 {
            let child = Process()
            child.executableURL = testChild
            child.arguments = ["append-forever", outbox]
            let output = Pipe()
            let errors = Pipe()
            child.standardOutput = output
            child.standardError = errors
            try child.run()
            // Our copies of the write ends, so that reading ends when the child is gone.
            try output.fileHandleForWriting.close()
            try errors.fileHandleForWriting.close()
            usleep(UInt32.random(in: 20_000...150_000))
            kill(child.processIdentifier, SIGKILL)
            child.waitUntilExit()
            let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            let complaint = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            try #require(
                child.terminationReason == .uncaughtSignal,
                "round \(round): the child exited on its own (\(child.terminationStatus)): \(complaint)")
            // Only whole lines count (the text after the last newline, if any, is dropped).
            var lines = printed.split(separator: "\n", omittingEmptySubsequences: false)
            lines.removeLast()
            let acknowledged = lines.last.flatMap { Int($0) } ?? -1
            rounds.append(Round(pid: child.processIdentifier, acknowledged: acknowledged))

            guard FileManager.default.fileExists(atPath: outbox) else {
                // Killed before the outbox was renamed into place: nothing can have been acknowledged.
                #expect(acknowledged == -1, "round \(round)")
                continue
            }
            // What the next daemon does: open (quick_check included), then check every acknowledged event.
            let connection = try OutboxFile.open(path: outbox, access: .daemon)
            #expect(try connection.scalar("PRAGMA integrity_check") == .text("ok"), "round \(round)")
            let sequence = try committedSequence(connection, pid: child.processIdentifier)
            #expect(
                sequence == Array(0..<sequence.count),
                "round \(round): the committed events are a gap-free prefix, in id order")
            #expect(
                sequence.count > acknowledged, "round \(round): \(acknowledged) acknowledged, \(sequence.count) found")
            try connection.close()
        }

        // Nothing acknowledged in an earlier round went missing later.
        let connection = try OutboxFile.open(path: outbox, access: .daemon)
        for round in rounds {
            let count = try connection.integer(
                "SELECT count(*) FROM events WHERE directory = ?", [.text("/append-forever/\(round.pid)")])
            #expect(count > round.acknowledged, "pid \(round.pid)")
        }
        try connection.close()
        let acknowledgedRounds = rounds.filter { $0.acknowledged >= 0 }.count
        #expect(acknowledgedRounds >= 10, "only \(acknowledgedRounds) of 50 rounds committed anything before the kill")
    }

    /// The sequence numbers (file names) committed by the child `pid`, in id order.
    private func committedSequence(_ connection: SQLiteConnection, pid: Int32) throws -> [Int] {
        let select = try connection.prepare("SELECT filename FROM events WHERE directory = ? ORDER BY id")
        try select.bind("/append-forever/\(pid)", at: 1)
        var sequence: [Int] = []
        while try select.step() {
            sequence.append(Int(String(decoding: select.blob(0), as: UTF8.self)) ?? -1)
        }
        return sequence
    }
}

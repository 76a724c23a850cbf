import Foundation
import Testing

/// Every bad input to the operator tools: one line on stderr naming the problem, a non-zero exit, nothing
/// on stdout, and the outbox untouched (same bytes; no file created where there was none).
@Suite("Operator tools: bad input", .timeLimit(.minutes(2)))
struct OperatorToolsErrorTests {
    /// A bad command line: `OUTBOX` stands for the test outbox's path, `MISSING` for a path with no file.
    struct Case: CustomTestStringConvertible, Sendable {
        let arguments: [String]
        /// Text the one line must contain.
        let mentions: String
        var testDescription: String { arguments.joined(separator: " ") }
    }

    static let cases: [Case] = [
        Case(arguments: ["outbox", "stats", "--outbox", "MISSING"], mentions: "does not exist"),
        Case(arguments: ["outbox", "list", "--outbox", "MISSING", "--json"], mentions: "does not exist"),
        Case(arguments: ["replay", "--outbox", "MISSING"], mentions: "does not exist"),
        Case(arguments: ["outbox", "purge", "--outbox", "MISSING", "--state", "dead"], mentions: "does not exist"),
        Case(
            arguments: ["outbox", "list", "--outbox", "OUTBOX", "--state", "stuck"], mentions: "unknown state 'stuck'"),
        Case(
            arguments: ["replay", "--outbox", "OUTBOX", "--state", "Delivered"], mentions: "unknown state 'Delivered'"),
        Case(arguments: ["outbox", "show", "999", "--outbox", "OUTBOX"], mentions: "no event with id 999"),
        Case(arguments: ["outbox", "show", "abc", "--outbox", "OUTBOX"], mentions: "'abc'"),
        Case(arguments: ["replay", "--outbox", "OUTBOX", "--id", "1", "--id", "999"], mentions: "999"),
        Case(arguments: ["replay", "--outbox", "OUTBOX", "--id", "999", "--dry-run"], mentions: "999"),
        Case(
            arguments: ["outbox", "list", "--outbox", "OUTBOX", "--since", "yesterday"], mentions: "--since 'yesterday'"
        ),
        Case(arguments: ["replay", "--outbox", "OUTBOX", "--until", "2026-13-01T00:00:00Z"], mentions: "--until"),
        Case(arguments: ["outbox", "purge", "--outbox", "OUTBOX", "--state", "pending"], mentions: "pending"),
        Case(
            arguments: ["outbox", "purge", "--outbox", "OUTBOX", "--state", "dead", "--older-than", "soon"],
            mentions: "--older-than 'soon'"),
        Case(arguments: ["outbox", "purge", "--outbox", "OUTBOX"], mentions: "--state"),
        Case(arguments: ["outbox", "list", "--outbox", "OUTBOX", "--limit", "lots"], mentions: "--limit"),
        Case(arguments: ["outbox", "list", "--outbox", "OUTBOX", "--limit", "-5"], mentions: "--limit"),
        Case(arguments: ["outbox", "list", "--outbox", "OUTBOX", "--limit"], mentions: "--limit"),
        Case(arguments: ["outbox", "stats"], mentions: "--outbox"),
        Case(arguments: ["outbox", "stats", "--outbox", "OUTBOX", "--frobnicate"], mentions: "--frobnicate"),
        Case(arguments: ["outbox", "stats", "--outbox", "NOTOUTBOX"], mentions: "not an SQLite database"),
        Case(
            arguments: ["stauts", "--outbox", "OUTBOX"],
            mentions: "unknown command 'stauts' (commands: run, check-config, outbox, replay, drain)"),
        Case(arguments: ["replay", "--outbox", "NOTOUTBOX", "--state", "dead"], mentions: "not an SQLite database"),
    ]

    @Test("one line on stderr, non-zero exit, outbox unchanged, nothing created", arguments: cases)
    func badInput(_ badCase: Case) throws {
        let directory = try TemporaryDirectory(prefix: "dirobs-tools-bad")
        let outbox = directory.appending("test.outbox.sqlite3")
        try OutboxFiles.create(outbox, rows: [.init(state: .delivered), .init(state: .dead), .init(state: .pending)])
        let notOutbox = directory.appending("notes.txt")
        try "not an outbox\n".write(toFile: notOutbox, atomically: true, encoding: .utf8)
        let missing = directory.appending("absent.sqlite3")
        let namesBefore = try OutboxFiles.names(directory.path)
        let outboxBefore = OutboxFiles.contents(outbox)
        let notesBefore = OutboxFiles.contents(notOutbox)

        let arguments = badCase.arguments.map {
            ["OUTBOX": outbox, "MISSING": missing, "NOTOUTBOX": notOutbox][$0] ?? $0
        }
        let result = try ObserverBinary.run(arguments)

        #expect(result.status != 0)
        #expect(result.status < 128, "an exit status, not a signal")
        #expect(result.stdout.isEmpty)
        #expect(result.stderrLines.count == 1, "stderr: \(result.stderr)")
        let line = try #require(result.stderrLines.first)
        #expect(line.hasPrefix("directory_observer: "))
        #expect(line.contains(badCase.mentions), "stderr: \(line)")
        #expect(!line.contains("Usage"))
        #expect(OutboxFiles.contents(outbox) == outboxBefore)
        #expect(OutboxFiles.contents(notOutbox) == notesBefore)
        // A read-only SQLite connection may leave the empty -wal/-shm beside a WAL outbox; nothing else.
        let created = try Set(OutboxFiles.names(directory.path)).subtracting(namesBefore)
        #expect(created.isSubset(of: ["test.outbox.sqlite3-wal", "test.outbox.sqlite3-shm"]), "created: \(created)")
        #expect(!FileManager.default.fileExists(atPath: directory.appending("absent.sqlite3")))
    }
}

/// How `outbox stats` prints an `OutboxStats`: one JSON object with the keys of SPEC §2, or an aligned
/// table for a person.
public enum OutboxStatsReport {
    /// `{"outbox", "uuid", "schema_version", "daemon_pid", "size_bytes", "queues": [{"queue", "pending",
    /// "delivered", "skipped", "dead", "oldest_pending_age_s"}], "totals": {"pending", "delivered",
    /// "skipped", "dead"}}`, pretty-printed.
    public static func json(_ stats: OutboxStats) -> String {
        let queues: [JSONText] = stats.queues.map { queue in
            .object(
                [("queue", .string(queue.name))] + counts(queue.counts) + [
                    (
                        "oldest_pending_age_s",
                        queue.oldestPendingAge.map { .number(($0 * 1000).rounded() / 1000) } ?? .null
                    )
                ])
        }
        return JSONText.object([
            ("outbox", .string(stats.path)),
            ("uuid", .string(stats.uuid)),
            ("schema_version", .int(stats.schemaVersion)),
            ("daemon_pid", stats.daemonPID.map { .int(Int($0)) } ?? .null),
            ("size_bytes", .int(Int(stats.sizeBytes))),
            ("queues", .array(queues)),
            ("totals", .object(counts(stats.totals))),
        ]).rendered()
    }

    private static func counts(_ counts: OutboxStats.Counts) -> [(String, JSONText)] {
        [
            ("pending", .int(counts.pending)), ("delivered", .int(counts.delivered)),
            ("skipped", .int(counts.skipped)), ("dead", .int(counts.dead)),
        ]
    }

    /// A header block (path, uuid, schema, daemon, size) then one row per queue and a total row.
    public static func text(_ stats: OutboxStats) -> String {
        var lines = [
            "outbox          \(VisibleText.escaping(stats.path))",
            "uuid            \(stats.uuid)",
            "schema version  \(stats.schemaVersion)",
            "daemon          \(stats.daemonPID.map { "running (pid \($0))" } ?? "not running")",
            "size            \(size(stats.sizeBytes)) (main file + write-ahead log)",
            "",
        ]
        var table = TextTable([
            ("QUEUE", .left), ("PENDING", .right), ("DELIVERED", .right), ("SKIPPED", .right), ("DEAD", .right),
            ("OLDEST PENDING", .right),
        ])
        for queue in stats.queues {
            table.append(
                [VisibleText.escaping(queue.name)] + cells(queue.counts)
                    + [queue.oldestPendingAge.map(TimeText.age) ?? "-"])
        }
        table.append(["total"] + cells(stats.totals) + [""])
        lines += table.lines()
        if stats.queues.isEmpty { lines.append("(no queue configured and no event in the outbox)") }
        return lines.joined(separator: "\n")
    }

    private static func cells(_ counts: OutboxStats.Counts) -> [String] {
        [counts.pending, counts.delivered, counts.skipped, counts.dead].map(String.init)
    }

    /// Bytes in binary units, with the exact count: `1.5 MiB (1572864 bytes)`.
    static func size(_ bytes: Int64) -> String {
        let units = ["KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = -1
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        guard unit >= 0 else { return "\(bytes) bytes" }
        return "\((value * 10).rounded() / 10) \(units[unit]) (\(bytes) bytes)"
    }
}

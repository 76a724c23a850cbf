import Glibc

/// How times and ages are shown to a person: UTC ISO 8601 (`2026-11-24T10:00:00.123Z`) and compact ages
/// (`45s`, `3m12s`, `2h05m`, `1d03h`).
public enum TimeText {
    /// `seconds` (Unix time) as UTC ISO 8601 with milliseconds.
    public static func utc(_ seconds: Double) -> String {
        var whole = time_t(seconds.rounded(.down))
        var millis = Int(((seconds - Double(whole)) * 1000).rounded())
        if millis == 1000 {
            whole += 1
            millis = 0
        }
        var parts = tm()
        gmtime_r(&whole, &parts)
        return "\(pad(Int(parts.tm_year) + 1900, 4))-\(pad(Int(parts.tm_mon) + 1, 2))-\(pad(Int(parts.tm_mday), 2))"
            + "T\(pad(Int(parts.tm_hour), 2)):\(pad(Int(parts.tm_min), 2)):\(pad(Int(parts.tm_sec), 2))"
            + ".\(pad(millis, 3))Z"
    }

    /// A duration in seconds as the two largest units: `45s`, `3m12s`, `2h05m`, `1d03h` (negative as `0s`).
    public static func age(_ seconds: Double) -> String {
        let total = max(0, Int(seconds.rounded(.down)))
        let (days, hours, minutes, secs) = (total / 86_400, total / 3_600 % 24, total / 60 % 60, total % 60)
        if days > 0 { return "\(days)d\(pad(hours, 2))h" }
        if hours > 0 { return "\(hours)h\(pad(minutes, 2))m" }
        if minutes > 0 { return "\(minutes)m\(pad(secs, 2))s" }
        return "\(secs)s"
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
}

import Glibc

/// Parses the times and durations operators type on the command line (SPEC §2):
/// an instant is ISO 8601 with a zone (`2026-11-24T10:00:00Z`, `2026-11-24T11:00:00.5+01:00`), Unix epoch
/// seconds (`1764000000`, `1764000000.25`) or an age before now (`90s`, `15m`, `2h`, `7d`); a duration is an
/// age. Everything is Unix seconds (UTC). Pure functions: `now` is passed in so callers and tests agree.
public enum TimeSpec {
    /// The accepted forms, for error messages.
    public static let instantForms =
        "ISO 8601 with a zone such as 2026-11-24T10:00:00Z, epoch seconds, or an age such as 90s, 15m, 2h, 7d"
    /// The accepted forms of a duration, for error messages.
    public static let durationForms = "an age such as 90s, 15m, 2h or 7d"

    /// The instant `text` names, in Unix seconds, or nil when it is none of the accepted forms.
    public static func instant(_ text: String, now: Double) -> Double? {
        if let age = duration(text) { return now - age }
        if let epoch = unsignedDecimal(Substring(text)) { return epoch }
        return iso8601(text)
    }

    /// The number of seconds an age such as `90s`, `15m`, `2h`, `7d` (or `1.5h`) stands for, or nil.
    public static func duration(_ text: String) -> Double? {
        guard let unit = text.last, let value = unsignedDecimal(text.dropLast()) else { return nil }
        switch unit {
        case "s": return value
        case "m": return value * 60
        case "h": return value * 3_600
        case "d": return value * 86_400
        default: return nil
        }
    }

    /// `123` or `123.45` (ASCII digits only, no sign, no exponent), or nil.
    private static func unsignedDecimal(_ text: Substring) -> Double? {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first, !whole.isEmpty, whole.allSatisfy(\.isASCIIDigit) else { return nil }
        if parts.count == 2 {
            guard !parts[1].isEmpty, parts[1].allSatisfy(\.isASCIIDigit) else { return nil }
        }
        return Double(text)
    }

    // MARK: - ISO 8601

    /// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM|±HHMM)`; a space may stand for the `T`. The zone is
    /// required: a bare local time would silently mean something else on every host.
    private static func iso8601(_ text: String) -> Double? {
        let chars = Array(text.utf8)
        guard chars.count >= 20 else { return nil }
        func number(_ start: Int, _ count: Int) -> Int? {
            guard start + count <= chars.count else { return nil }
            var value = 0
            for byte in chars[start..<start + count] {
                guard (48...57).contains(byte) else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        func at(_ index: Int, _ expected: Character) -> Bool {
            index < chars.count && chars[index] == expected.asciiValue!
        }
        guard let year = number(0, 4), at(4, "-"), let month = number(5, 2), at(7, "-"), let day = number(8, 2),
            at(10, "T") || at(10, "t") || at(10, " "),
            let hour = number(11, 2), at(13, ":"), let minute = number(14, 2), at(16, ":"),
            let second = number(17, 2)
        else { return nil }
        var index = 19
        var fraction = 0.0
        if at(index, ".") || at(index, ",") {
            var scale = 0.1
            index += 1
            let start = index
            while index < chars.count, (48...57).contains(chars[index]) {
                fraction += Double(chars[index] - 48) * scale
                scale /= 10
                index += 1
            }
            guard index > start else { return nil }
        }
        var offset = 0
        if at(index, "Z") || at(index, "z") {
            index += 1
        } else if at(index, "+") || at(index, "-") {
            let sign = at(index, "-") ? -1 : 1
            guard let hours = number(index + 1, 2) else { return nil }
            var minutes: Int?
            if at(index + 3, ":") {
                minutes = number(index + 4, 2)
                index += 6
            } else {
                minutes = number(index + 3, 2)
                index += 5
            }
            guard let minutes, hours <= 23, minutes <= 59 else { return nil }
            offset = sign * (hours * 3_600 + minutes * 60)
        } else {
            return nil
        }
        guard index == chars.count, (1...12).contains(month), (1...31).contains(day), hour <= 23, minute <= 59,
            second <= 59
        else { return nil }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        let seconds = timegm(&parts)
        // timegm normalizes 2026-02-30 into March: such a date is a typing mistake, not a time.
        guard parts.tm_mday == Int32(day), parts.tm_mon == Int32(month - 1) else { return nil }
        return Double(seconds - offset) + fraction
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}

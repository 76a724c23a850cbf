import DirectoryObserver
import Testing

/// `TimeSpec` (what operators type for --since, --until, --older-than) and `TimeText` (what tables show).
@Suite("Operator times: parsing and display")
struct TimeSpecTests {
    static let now = 1_795_600_000.0

    @Test(
        "ISO 8601 with a zone, epoch seconds and ages name the expected instant",
        arguments: [
            ("2026-11-24T10:00:00Z", 1_795_514_400.0),
            ("2026-11-24T10:00:00.250Z", 1_795_514_400.25),
            ("2026-11-24t10:00:00z", 1_795_514_400),
            ("2026-11-24 10:00:00Z", 1_795_514_400),
            ("2026-11-24T11:30:00+01:30", 1_795_514_400),
            ("2026-11-24T08:00:00-0200", 1_795_514_400),
            ("2024-02-29T23:59:59Z", 1_709_251_199),
            ("1795514400", 1_795_514_400),
            ("1795514400.5", 1_795_514_400.5),
            ("0", 0),
            ("90s", now - 90),
            ("15m", now - 900),
            ("2h", now - 7_200),
            ("7d", now - 604_800),
            ("1.5h", now - 5_400),
        ])
    func instants(text: String, expected: Double) {
        #expect(TimeSpec.instant(text, now: Self.now) == expected)
    }

    @Test(
        "text that is not a time is refused rather than guessed",
        arguments: [
            "", "lots", "yesterday", "2026-11-24T10:00:00", "2026-11-24", "2026-02-30T00:00:00Z",
            "2026-13-01T00:00:00Z", "2026-11-24T24:00:00Z", "2026-11-24T10:00:00+25:00", "2026-11-24T10:00:00Zjunk",
            "10x", "-5s", "-1795514400", "1e9", "5 m", "s", "1.", ".5s", "１２s",
        ])
    func refused(text: String) {
        #expect(TimeSpec.instant(text, now: Self.now) == nil)
    }

    @Test("durations are ages only")
    func durations() {
        #expect(TimeSpec.duration("90s") == 90)
        #expect(TimeSpec.duration("15m") == 900)
        #expect(TimeSpec.duration("2h") == 7_200)
        #expect(TimeSpec.duration("7d") == 604_800)
        #expect(TimeSpec.duration("0s") == 0)
        #expect(TimeSpec.duration("1795514400") == nil)
        #expect(TimeSpec.duration("2026-11-24T10:00:00Z") == nil)
        #expect(TimeSpec.duration("7w") == nil)
    }

    @Test(
        "ages use the two largest units",
        arguments: [
            (0.0, "0s"), (45.9, "45s"), (192, "3m12s"), (3_600, "1h00m"), (7_500, "2h05m"),
            (97_200, "1d03h"), (-5, "0s"),
        ])
    func ages(seconds: Double, expected: String) {
        #expect(TimeText.age(seconds) == expected)
    }

    @Test("times are shown in UTC ISO 8601 with milliseconds")
    func utc() {
        #expect(TimeText.utc(0) == "1970-01-01T00:00:00.000Z")
        #expect(TimeText.utc(1_795_514_400.25) == "2026-11-24T10:00:00.250Z")
        #expect(TimeText.utc(1_795_514_400.9996) == "2026-11-24T10:00:01.000Z")
        #expect(TimeSpec.instant(TimeText.utc(1_709_251_199.5), now: 0) == 1_709_251_199.5)
    }
}

import Glibc

/// Wall-clock and monotonic time, in seconds.
public enum Clock {
    /// The environment variable that shifts `now()` by a number of seconds. It exists so the test suite can
    /// run the operator tools and the daemon "30 days later" and prove that nothing depends on the date;
    /// operators have no reason to set it.
    public static let shiftVariable = "DIRECTORY_OBSERVER_CLOCK_SHIFT_S"

    /// Seconds added to the real time by `now()`: 0 unless `DIRECTORY_OBSERVER_CLOCK_SHIFT_S` holds a
    /// finite number. Read once, at first use.
    public static let shift: Double = {
        guard let text = getenv(shiftVariable).map({ String(cString: $0) }), let seconds = Double(text),
            seconds.isFinite
        else { return 0 }
        return seconds
    }()

    /// Unix time with sub-microsecond resolution (what messages carry as `event_timestamp`), moved by
    /// `shift`.
    public static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1_000_000_000 + shift
    }

    /// Seconds on a clock that never jumps, for timeouts and durations.
    public static func monotonic() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1_000_000_000
    }
}

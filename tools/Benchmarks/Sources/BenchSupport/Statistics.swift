/// Order statistics of a benchmark's runs.
public enum Statistics {
    /// The middle value (the upper of the two middle ones for an even count); 0 for no values.
    public static func median(_ values: [Double]) -> Double {
        percentile(values, 0.5)
    }

    /// The value at `fraction` (0…1) of the sorted values, the nearest rank rounded half up; 0 for no values.
    public static func percentile(_ values: [Double], _ fraction: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * fraction).rounded()))]
    }
}

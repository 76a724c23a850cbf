/// Exponential backoff with jitter: `initial`, doubling up to `maximum`, each delay drawn between half
/// and all of its nominal value so that many observers do not retry in step.
public struct Backoff: Sendable {
    public let initial: Double
    public let maximum: Double
    private var nominal: Double

    public init(initial: Double, maximum: Double) {
        self.initial = max(initial, 0.001)
        self.maximum = max(maximum, self.initial)
        self.nominal = self.initial
    }

    /// The next delay, in seconds.
    public mutating func next() -> Double {
        let delay = nominal * Double.random(in: 0.5...1.0)
        nominal = min(nominal * 2, maximum)
        return delay
    }

    /// Back to `initial` after a success.
    public mutating func reset() {
        nominal = initial
    }
}

import Foundation

/// Round axis ticks: the step is 1, 2, 2.5 or 5 times a power of ten, and the ticks cover the
/// values, so every gridline sits on a number a reader can use.
public enum Ticks {
    /// About `count` ticks from at most `low` to at least `high`. A domain that holds zero has a
    /// tick at zero (the ticks are multiples of the step); an empty domain is widened by one step
    /// around its value.
    public static func nice(_ low: Double, _ high: Double, count: Int = 5) -> [Double] {
        guard low.isFinite, high.isFinite else { return [0, 1] }
        var (low, high) = (min(low, high), max(low, high))
        if low == high {
            let pad = low == 0 ? 1 : abs(low) * 0.1
            (low, high) = (low - pad, high + pad)
        }
        let step = self.step(for: (high - low) / Double(max(1, count)))
        guard step.isFinite, step > 0 else { return [low, high] }
        let first = (low / step).rounded(.down)
        let last = (high / step).rounded(.up)
        // Beyond a few hundred ticks the domain is not a chart's any more (and Double runs out
        // of digits near 1e300); keep its two ends.
        guard last - first < 1_000 else { return [low, high] }
        return stride(from: first, through: last, by: 1).map { index in
            let value = index * step
            return abs(value) < step * 1e-9 ? 0 : value
        }
    }

    /// The round step nearest above `raw`: 1, 2, 2.5 or 5 times a power of ten.
    public static func step(for raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        let power = pow(10, (log10(raw)).rounded(.down))
        for factor in [1, 2, 2.5, 5, 10] where raw <= factor * power * (1 + 1e-9) {
            return factor * power
        }
        return 10 * power
    }
}

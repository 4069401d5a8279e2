/// Count, mean and the sum of squared deviations, updated with Welford's algorithm and merged with
/// Chan's formula: O(1) state, mergeable, and exact to a few units in the last place for any finite
/// input.
///
/// The values are kept divided by a power of two chosen from the largest magnitude seen, so that
/// neither values near `Double.greatestFiniteMagnitude` overflow (`[-1e308, 1e308]`) nor values
/// near `1e-300` underflow; the mean is carried with its rounding error, so that a large common
/// offset (values around 1e9 that differ by 1e-3) does not cost the deviations their digits.
///
/// A non-finite value (NaN, ±infinity) makes the results what IEEE arithmetic gives: the mean is
/// the sum of the non-finite values (+inf, -inf or NaN), the variance and standard deviation are
/// NaN. Sources reject such numbers in their input (see ``CSVSource``); a value computed by the
/// pipeline can still be one.
public struct WelfordAccumulator: Codable, Sendable, Hashable {
    /// The number of values, finite or not.
    public var count: Int { valueCount }
    /// The number of values, finite or not.
    @usableFromInline var valueCount: Int
    /// The number of finite values.
    @usableFromInline var finiteCount: Int
    /// The power of two the stored mean is divided by (its square for `scaledM2`).
    @usableFromInline var exponent: Int
    /// The mean of the finite values divided by 2^exponent, and the rounding error of that.
    @usableFromInline var scaledMean: Double
    @usableFromInline var scaledMeanError: Double
    /// The sum of squared deviations from the mean, divided by 2^(2 × exponent).
    @usableFromInline var scaledM2: Double
    /// The sum of the finite values divided by 2^exponent, and its rounding error: the mean
    /// reported, exact even where the running mean cancels (`[1e200, -1e200, 3]`).
    @usableFromInline var scaledSum: Double
    @usableFromInline var scaledSumError: Double
    /// The sum of the non-finite values; 0 when there were none.
    @usableFromInline var nonFinite: Double

    /// The state of no values.
    @inlinable
    init() {
        valueCount = 0
        finiteCount = 0
        exponent = 0
        scaledMean = 0
        scaledMeanError = 0
        scaledM2 = 0
        scaledSum = 0
        scaledSumError = 0
        nonFinite = 0
    }

    /// The state after one value.
    @inlinable
    public init(first value: Double) {
        self.init()
        add(value)
    }

    /// Whether the finite values seen so far are all zero: then any scale represents them.
    @inlinable
    var isZero: Bool { scaledMean == 0 && scaledMeanError == 0 && scaledM2 == 0 }

    /// Divides the stored values by a larger power of two.
    @inlinable
    mutating func rescale(to newExponent: Int) {
        if isZero {
            exponent = newExponent
            return
        }
        guard newExponent > exponent else { return }
        let shift = exponent - newExponent
        scaledMean = ScaledArithmetic.scale(scaledMean, by: shift)
        scaledMeanError = ScaledArithmetic.scale(scaledMeanError, by: shift)
        scaledM2 = ScaledArithmetic.scale(scaledM2, by: 2 * shift)
        scaledSum = ScaledArithmetic.scale(scaledSum, by: shift)
        scaledSumError = ScaledArithmetic.scale(scaledSumError, by: shift)
        exponent = newExponent
    }

    /// Adds a value.
    @inlinable
    public mutating func add(_ value: Double) {
        valueCount &+= 1
        guard value.isFinite else {
            nonFinite += value
            return
        }
        finiteCount &+= 1
        if value != 0 { rescale(to: ScaledArithmetic.exponent(fitting: value)) }
        let x = ScaledArithmetic.scale(value, by: -exponent)
        let (sum, error) = ScaledArithmetic.twoSum(scaledSum, x)
        scaledSum = sum
        scaledSumError += error
        let delta = (x - scaledMean) - scaledMeanError
        (scaledMean, scaledMeanError) = ScaledArithmetic.twoSum(
            scaledMean,
            scaledMeanError + delta / Double(finiteCount)
        )
        scaledM2 += delta * ((x - scaledMean) - scaledMeanError)
    }

    /// Adds the values summarised by `other`.
    @inlinable
    public mutating func merge(_ other: WelfordAccumulator) {
        valueCount &+= other.valueCount
        nonFinite += other.nonFinite
        guard other.finiteCount > 0 else { return }
        guard finiteCount > 0 else {
            (finiteCount, exponent, scaledMean, scaledMeanError, scaledM2) = (
                other.finiteCount, other.exponent, other.scaledMean, other.scaledMeanError, other.scaledM2
            )
            (scaledSum, scaledSumError) = (other.scaledSum, other.scaledSumError)
            return
        }
        var other = other
        let common = other.isZero ? exponent : isZero ? other.exponent : Swift.max(exponent, other.exponent)
        rescale(to: common)
        other.rescale(to: common)
        let (a, b) = (Double(finiteCount), Double(other.finiteCount))
        let share = b / (a + b)
        let delta = (other.scaledMean - scaledMean) + (other.scaledMeanError - scaledMeanError)
        (scaledMean, scaledMeanError) = ScaledArithmetic.twoSum(scaledMean, scaledMeanError + delta * share)
        scaledM2 += other.scaledM2 + delta * delta * (a * share)
        let (sum, error) = ScaledArithmetic.twoSum(scaledSum, other.scaledSum)
        scaledSum = sum
        scaledSumError += error + other.scaledSumError
        finiteCount &+= other.finiteCount
    }

    /// The mean; NaN for no values.
    @inlinable
    public var mean: Double {
        if nonFinite != 0 { return nonFinite }
        if finiteCount == 0 { return .nan }
        return ScaledArithmetic.scale((scaledSum + scaledSumError) / Double(finiteCount), by: exponent)
    }

    /// The divisor of the sum of squared deviations, or `nil` when the sample variance of one value
    /// is asked for.
    @inlinable
    func divisor(_ kind: VarianceKind) -> Double? {
        switch kind {
        case .population: return Double(finiteCount)
        case .sample: return finiteCount > 1 ? Double(finiteCount - 1) : nil
        }
    }

    /// The variance: over `count` values (population) or `count - 1` (sample; 0 for one value).
    /// Infinity when the variance is too large for a `Double` (the standard deviation may still fit:
    /// ask ``standardDeviation(_:)``); NaN after a non-finite value.
    @inlinable
    public func variance(_ kind: VarianceKind) -> Double {
        if nonFinite != 0 { return .nan }
        guard let divisor = divisor(kind) else { return 0 }
        return ScaledArithmetic.scale(scaledM2 / divisor, by: 2 * exponent)
    }

    /// The standard deviation, computed without forming the variance, so that it is finite
    /// whenever the true standard deviation is; NaN after a non-finite value.
    @inlinable
    public func standardDeviation(_ kind: VarianceKind) -> Double {
        if nonFinite != 0 { return .nan }
        guard let divisor = divisor(kind) else { return 0 }
        return ScaledArithmetic.scale((scaledM2 / divisor).squareRoot(), by: exponent)
    }
}

/// Which variance: of the values as the whole population, or as a sample of a larger one.
public enum VarianceKind: Sendable, Hashable {
    /// Divides by n.
    case population
    /// Divides by n − 1 (Bessel's correction).
    case sample
}

/// The variance of a value of the elements (Welford; mergeable). See ``WelfordAccumulator`` for
/// its precision and for what non-finite values give.
public struct Variance<Input>: Aggregation {
    /// The value whose variance is computed.
    public let value: @Sendable (Input) -> Double
    /// Population or sample variance.
    public let kind: VarianceKind
    /// The variance of `value`; population variance unless `kind` says otherwise.
    public init(_ kind: VarianceKind = .population, _ value: @escaping @Sendable (Input) -> Double) {
        self.value = value
        self.kind = kind
    }
    /// The state after the first element.
    @inlinable public func accumulator(for first: Input) -> WelfordAccumulator {
        WelfordAccumulator(first: value(first))
    }
    /// Adds an element.
    @inlinable public func add(_ input: Input, to accumulator: inout WelfordAccumulator) {
        accumulator.add(value(input))
    }
    /// Adds the elements summarised by `other`.
    @inlinable public func merge(_ other: WelfordAccumulator, into accumulator: inout WelfordAccumulator) {
        accumulator.merge(other)
    }
    /// The result.
    @inlinable public func output(of accumulator: WelfordAccumulator) -> Double { accumulator.variance(kind) }
}

/// The standard deviation of a value of the elements: the square root of ``Variance``, finite
/// whenever the true standard deviation is, even when the variance is not.
public struct StandardDeviation<Input>: Aggregation {
    /// The variance it is the square root of.
    public let variance: Variance<Input>

    /// The standard deviation of `value`; population unless `kind` says otherwise.
    public init(_ kind: VarianceKind = .population, _ value: @escaping @Sendable (Input) -> Double) {
        self.variance = Variance(kind, value)
    }

    /// The state after the first element.
    @inlinable public func accumulator(for first: Input) -> WelfordAccumulator { variance.accumulator(for: first) }
    /// Adds an element.
    @inlinable public func add(_ input: Input, to accumulator: inout WelfordAccumulator) {
        variance.add(input, to: &accumulator)
    }
    /// Adds the elements summarised by `other`.
    @inlinable public func merge(_ other: WelfordAccumulator, into accumulator: inout WelfordAccumulator) {
        variance.merge(other, into: &accumulator)
    }
    /// The result.
    @inlinable public func output(of accumulator: WelfordAccumulator) -> Double {
        accumulator.standardDeviation(variance.kind)
    }
}

/// Count, mean and the sum of squared deviations, updated with Welford's algorithm and merged with
/// Chan's formula: numerically stable, O(1) state, mergeable.
public struct WelfordAccumulator: Codable, Sendable, Hashable {
    /// The number of values.
    public var count: Int
    /// Their mean.
    public var mean: Double
    /// The sum of squared deviations from the mean.
    public var m2: Double

    /// The state after one value.
    @inlinable
    public init(first value: Double) {
        count = 1
        mean = value
        m2 = 0
    }

    /// Adds a value.
    @inlinable
    public mutating func add(_ value: Double) {
        count &+= 1
        let delta = value - mean
        mean += delta / Double(count)
        m2 += delta * (value - mean)
    }

    /// Adds the values summarised by `other`.
    @inlinable
    public mutating func merge(_ other: WelfordAccumulator) {
        let total = count + other.count
        let delta = other.mean - mean
        mean += delta * Double(other.count) / Double(total)
        m2 += other.m2 + delta * delta * Double(count) * Double(other.count) / Double(total)
        count = total
    }

    /// The variance: over `count` values (population) or `count - 1` (sample; 0 for one value).
    @inlinable
    public func variance(_ kind: VarianceKind) -> Double {
        switch kind {
        case .population: return m2 / Double(count)
        case .sample: return count > 1 ? m2 / Double(count - 1) : 0
        }
    }
}

/// Which variance: of the values as the whole population, or as a sample of a larger one.
public enum VarianceKind: Sendable, Hashable {
    /// Divides by n.
    case population
    /// Divides by n − 1 (Bessel's correction).
    case sample
}

/// The variance of a value of the elements (Welford; mergeable).
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

/// The standard deviation of a value of the elements: the square root of ``Variance``.
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
        variance.output(of: accumulator).squareRoot()
    }
}

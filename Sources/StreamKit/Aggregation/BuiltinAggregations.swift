/// The number of elements.
public struct Count<Input>: Aggregation {
    /// Creates the aggregate.
    public init() {}
    /// The state after the first element.
    @inlinable public func accumulator(for first: Input) -> Int { 1 }
    /// Adds an element.
    @inlinable public func add(_ input: Input, to accumulator: inout Int) { accumulator &+= 1 }
    /// Adds the elements summarised by `other`.
    @inlinable public func merge(_ other: Int, into accumulator: inout Int) { accumulator &+= other }
    /// The result.
    @inlinable public func output(of accumulator: Int) -> Int { accumulator }
}

/// The sum of a numeric value of the elements.
public struct Sum<Input, Value: AdditiveArithmetic & Codable & Sendable>: Aggregation {
    /// The value summed.
    public let value: @Sendable (Input) -> Value
    /// Sums `value` over the elements.
    public init(_ value: @escaping @Sendable (Input) -> Value) { self.value = value }
    /// Sums the value at `keyPath`.
    public init(_ keyPath: any KeyPath<Input, Value> & Sendable) { self.value = { $0[keyPath: keyPath] } }
    /// The state after the first element.
    @inlinable public func accumulator(for first: Input) -> Value { value(first) }
    /// Adds an element.
    @inlinable public func add(_ input: Input, to accumulator: inout Value) { accumulator += value(input) }
    /// Adds the elements summarised by `other`.
    @inlinable public func merge(_ other: Value, into accumulator: inout Value) { accumulator += other }
    /// The result.
    @inlinable public func output(of accumulator: Value) -> Value { accumulator }
}

/// The arithmetic mean of a value of the elements, exact to a few units in the last place for any
/// finite input: the sum is kept divided by a power of two (so `[1e308, 1e308]` does not overflow)
/// and with its rounding error (so a large common offset costs no digits). A non-finite value makes
/// the mean what IEEE arithmetic gives: +inf, -inf or NaN.
public struct Mean<Input>: Aggregation {
    /// The running, scaled sum and the count.
    public struct Accumulator: Codable, Sendable, Hashable {
        /// The number of values, finite or not.
        public var count: Int { valueCount }
        /// The number of values, finite or not.
        @usableFromInline var valueCount: Int
        /// The number of finite values.
        @usableFromInline var finiteCount: Int
        /// The power of two the stored sum is divided by.
        @usableFromInline var exponent: Int
        /// The sum of the finite values divided by 2^exponent, and the rounding error of that.
        @usableFromInline var scaledSum: Double
        @usableFromInline var scaledSumError: Double
        /// The sum of the non-finite values; 0 when there were none.
        @usableFromInline var nonFinite: Double

        /// The state after one value.
        @inlinable
        public init(first value: Double) {
            (valueCount, finiteCount, exponent, scaledSum, scaledSumError, nonFinite) = (0, 0, 0, 0, 0, 0)
            add(value)
        }

        /// Divides the stored sum by a larger power of two.
        @inlinable
        mutating func rescale(to newExponent: Int) {
            if scaledSum == 0 && scaledSumError == 0 {
                exponent = newExponent
                return
            }
            guard newExponent > exponent else { return }
            scaledSum = ScaledArithmetic.scale(scaledSum, by: exponent - newExponent)
            scaledSumError = ScaledArithmetic.scale(scaledSumError, by: exponent - newExponent)
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
            let (sum, error) = ScaledArithmetic.twoSum(scaledSum, ScaledArithmetic.scale(value, by: -exponent))
            scaledSum = sum
            scaledSumError += error
        }

        /// Adds the values summarised by `other`.
        @inlinable
        public mutating func merge(_ other: Accumulator) {
            valueCount &+= other.valueCount
            nonFinite += other.nonFinite
            guard other.finiteCount > 0 else { return }
            var other = other
            let common =
                other.scaledSum == 0 && other.scaledSumError == 0
                ? exponent
                : scaledSum == 0 && scaledSumError == 0 ? other.exponent : Swift.max(exponent, other.exponent)
            rescale(to: common)
            other.rescale(to: exponent)
            let (sum, error) = ScaledArithmetic.twoSum(scaledSum, other.scaledSum)
            scaledSum = sum
            scaledSumError += error + other.scaledSumError
            finiteCount &+= other.finiteCount
        }

        /// The mean; NaN for no values.
        @inlinable
        public var mean: Double {
            if nonFinite != 0 { return nonFinite }
            return ScaledArithmetic.scale((scaledSum + scaledSumError) / Double(finiteCount), by: exponent)
        }
    }
    /// The value averaged.
    public let value: @Sendable (Input) -> Double
    /// Averages `value` over the elements.
    public init(_ value: @escaping @Sendable (Input) -> Double) { self.value = value }
    /// Averages the value at `keyPath`.
    public init(_ keyPath: any KeyPath<Input, Double> & Sendable) { self.value = { $0[keyPath: keyPath] } }
    /// Averages an integer value at `keyPath`.
    public init<I: BinaryInteger & Sendable>(_ keyPath: any KeyPath<Input, I> & Sendable) {
        self.value = { Double($0[keyPath: keyPath]) }
    }
    /// The state after the first element.
    @inlinable public func accumulator(for first: Input) -> Accumulator { Accumulator(first: value(first)) }
    /// Adds an element.
    @inlinable public func add(_ input: Input, to accumulator: inout Accumulator) { accumulator.add(value(input)) }
    /// Adds the elements summarised by `other`.
    @inlinable public func merge(_ other: Accumulator, into accumulator: inout Accumulator) {
        accumulator.merge(other)
    }
    /// The result.
    @inlinable public func output(of accumulator: Accumulator) -> Double { accumulator.mean }
}

/// The smallest value of the elements.
public struct Min<Input, Value: Comparable & Codable & Sendable>: Aggregation {
    /// The value compared.
    public let value: @Sendable (Input) -> Value
    /// The smallest `value` over the elements.
    public init(_ value: @escaping @Sendable (Input) -> Value) { self.value = value }
    /// The smallest value at `keyPath`.
    public init(_ keyPath: any KeyPath<Input, Value> & Sendable) { self.value = { $0[keyPath: keyPath] } }
    /// The state after the first element.
    @inlinable public func accumulator(for first: Input) -> Value { value(first) }
    /// Adds an element.
    @inlinable public func add(_ input: Input, to accumulator: inout Value) {
        let v = value(input)
        if v < accumulator { accumulator = v }
    }
    /// Adds the elements summarised by `other`.
    @inlinable public func merge(_ other: Value, into accumulator: inout Value) {
        if other < accumulator { accumulator = other }
    }
    /// The result.
    @inlinable public func output(of accumulator: Value) -> Value { accumulator }
}

/// The largest value of the elements.
public struct Max<Input, Value: Comparable & Codable & Sendable>: Aggregation {
    /// The value compared.
    public let value: @Sendable (Input) -> Value
    /// The largest `value` over the elements.
    public init(_ value: @escaping @Sendable (Input) -> Value) { self.value = value }
    /// The largest value at `keyPath`.
    public init(_ keyPath: any KeyPath<Input, Value> & Sendable) { self.value = { $0[keyPath: keyPath] } }
    /// The state after the first element.
    @inlinable public func accumulator(for first: Input) -> Value { value(first) }
    /// Adds an element.
    @inlinable public func add(_ input: Input, to accumulator: inout Value) {
        let v = value(input)
        if v > accumulator { accumulator = v }
    }
    /// Adds the elements summarised by `other`.
    @inlinable public func merge(_ other: Value, into accumulator: inout Value) {
        if other > accumulator { accumulator = other }
    }
    /// The result.
    @inlinable public func output(of accumulator: Value) -> Value { accumulator }
}

/// The first element in arrival order.
public struct First<Input: Codable & Sendable>: Aggregation {
    /// Creates the aggregate.
    public init() {}
    /// The state after the first element.
    @inlinable public func accumulator(for first: Input) -> Input { first }
    /// Adds an element.
    @inlinable public func add(_ input: Input, to accumulator: inout Input) {}
    /// Keeps the accumulator: `other` summarises elements that arrived later.
    @inlinable public func merge(_ other: Input, into accumulator: inout Input) {}
    /// The result.
    @inlinable public func output(of accumulator: Input) -> Input { accumulator }
}

/// The last element in arrival order.
public struct Last<Input: Codable & Sendable>: Aggregation {
    /// Creates the aggregate.
    public init() {}
    /// The state after the first element.
    @inlinable public func accumulator(for first: Input) -> Input { first }
    /// Adds an element.
    @inlinable public func add(_ input: Input, to accumulator: inout Input) { accumulator = input }
    /// Takes `other`: it summarises elements that arrived later.
    @inlinable public func merge(_ other: Input, into accumulator: inout Input) { accumulator = other }
    /// The result.
    @inlinable public func output(of accumulator: Input) -> Input { accumulator }
}

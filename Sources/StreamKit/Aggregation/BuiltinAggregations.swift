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

/// The arithmetic mean of a value of the elements.
public struct Mean<Input>: Aggregation {
    /// The running sum and count.
    public struct Accumulator: Codable, Sendable {
        /// The sum so far.
        public var sum: Double
        /// The count so far.
        public var count: Int

        /// Creates a state.
        @inlinable
        public init(sum: Double, count: Int) {
            self.sum = sum
            self.count = count
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
    @inlinable public func accumulator(for first: Input) -> Accumulator { Accumulator(sum: value(first), count: 1) }
    /// Adds an element.
    @inlinable public func add(_ input: Input, to accumulator: inout Accumulator) {
        accumulator.sum += value(input)
        accumulator.count &+= 1
    }
    /// Adds the elements summarised by `other`.
    @inlinable public func merge(_ other: Accumulator, into accumulator: inout Accumulator) {
        accumulator.sum += other.sum
        accumulator.count &+= other.count
    }
    /// The result.
    @inlinable public func output(of accumulator: Accumulator) -> Double { accumulator.sum / Double(accumulator.count) }
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

/// An incremental, mergeable aggregate: how a window turns its elements into one value while
/// holding O(1) state per key.
///
/// A window creates the accumulator from its first element with ``accumulator(for:)``, adds each
/// further element with ``add(_:to:)``, combines partial results with ``merge(_:into:)`` (session
/// windows merge when a gap closes) and produces the result with ``output(of:)``. Accumulators are
/// `Codable`, so checkpoints can store them.
///
/// StreamKit ships ``Count``, ``Sum``, ``Mean``, ``Min``, ``Max``, ``Variance``,
/// ``StandardDeviation``, ``First`` and ``Last``. Conform to this protocol for your own:
///
/// ```swift
/// struct Range<Input: Sendable>: Aggregation {
///     let value: @Sendable (Input) -> Double
///     func accumulator(for first: Input) -> [Double] { [value(first), value(first)] }
///     func add(_ input: Input, to acc: inout [Double]) {
///         acc[0] = Swift.min(acc[0], value(input)); acc[1] = Swift.max(acc[1], value(input))
///     }
///     func merge(_ other: [Double], into acc: inout [Double]) {
///         acc[0] = Swift.min(acc[0], other[0]); acc[1] = Swift.max(acc[1], other[1])
///     }
///     func output(of acc: [Double]) -> Double { acc[1] - acc[0] }
/// }
/// ```
public protocol Aggregation<Input, Output>: Sendable {
    /// The element type aggregated.
    associatedtype Input
    /// The running state of one key in one window.
    associatedtype Accumulator: Codable & Sendable
    /// The result.
    associatedtype Output: Sendable

    /// The state after the first element.
    func accumulator(for first: Input) -> Accumulator
    /// Adds an element.
    func add(_ input: Input, to accumulator: inout Accumulator)
    /// Adds the elements summarised by `other`.
    func merge(_ other: Accumulator, into accumulator: inout Accumulator)
    /// The result of the elements added so far.
    func output(of accumulator: Accumulator) -> Output
}

/// Two aggregates computed in one pass.
public struct AggregationPair<First: Aggregation, Second: Aggregation>: Aggregation
where First.Input == Second.Input {
    /// The element type aggregated.
    public typealias Input = First.Input

    /// The two running states.
    public struct Accumulator: Codable, Sendable {
        /// The first aggregate's state.
        public var first: First.Accumulator
        /// The second aggregate's state.
        public var second: Second.Accumulator

        /// Creates the two states.
        @inlinable
        public init(first: First.Accumulator, second: Second.Accumulator) {
            self.first = first
            self.second = second
        }
    }

    /// The first aggregate.
    public let first: First
    /// The second aggregate.
    public let second: Second

    /// Combines two aggregates.
    public init(_ first: First, _ second: Second) {
        self.first = first
        self.second = second
    }

    /// The state after the first element.
    @inlinable
    public func accumulator(for element: Input) -> Accumulator {
        Accumulator(first: first.accumulator(for: element), second: second.accumulator(for: element))
    }

    /// Adds an element.
    @inlinable
    public func add(_ input: Input, to accumulator: inout Accumulator) {
        first.add(input, to: &accumulator.first)
        second.add(input, to: &accumulator.second)
    }

    /// Adds the elements summarised by `other`.
    @inlinable
    public func merge(_ other: Accumulator, into accumulator: inout Accumulator) {
        first.merge(other.first, into: &accumulator.first)
        second.merge(other.second, into: &accumulator.second)
    }

    /// The result.
    @inlinable
    public func output(of accumulator: Accumulator) -> (First.Output, Second.Output) {
        (first.output(of: accumulator.first), second.output(of: accumulator.second))
    }
}

/// An aggregate whose result is transformed, to flatten the nested tuples of several aggregates.
public struct MappedAggregation<Base: Aggregation, Output: Sendable>: Aggregation {
    /// The element type aggregated.
    public typealias Input = Base.Input
    /// The base aggregate's state.
    public typealias Accumulator = Base.Accumulator

    /// The aggregate.
    public let base: Base
    /// The transformation of its result.
    public let transform: @Sendable (Base.Output) -> Output

    /// Creates an aggregate that transforms `base`'s result.
    public init(_ base: Base, transform: @escaping @Sendable (Base.Output) -> Output) {
        self.base = base
        self.transform = transform
    }

    /// The state after the first element.
    @inlinable
    public func accumulator(for first: Input) -> Accumulator { base.accumulator(for: first) }

    /// Adds an element.
    @inlinable
    public func add(_ input: Input, to accumulator: inout Accumulator) { base.add(input, to: &accumulator) }

    /// Adds the elements summarised by `other`.
    @inlinable
    public func merge(_ other: Accumulator, into accumulator: inout Accumulator) {
        base.merge(other, into: &accumulator)
    }

    /// The result.
    @inlinable
    public func output(of accumulator: Accumulator) -> Output { transform(base.output(of: accumulator)) }
}

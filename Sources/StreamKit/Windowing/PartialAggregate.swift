/// What crosses the exchange when a window aggregates in two steps (``LocalWindowOperator``): one
/// partition's partial aggregate of a key in a window, or an element that came after its partition
/// had sent that window's partial aggregate, for the global step to judge.
@usableFromInline
struct PartialAggregate<Key: Sendable, Element: Sendable, Accumulator: Sendable>: Sendable {
    @usableFromInline
    enum Content: Sendable {
        /// The partition's aggregate of the key in the window that holds the partial's event time.
        case accumulator(Accumulator)
        /// An element the partition did not aggregate: its window had already gone to the global step.
        case element(Element)
    }

    @usableFromInline var key: Key
    @usableFromInline var content: Content

    @inlinable
    init(key: Key, content: Content) {
        self.key = key
        self.content = content
    }

    /// The partial aggregates a local step fired and the elements it passed on, in one batch in
    /// the order of the watermarks they were produced under (each input is in that order already).
    @inlinable
    static func merging(
        _ fired: Batch<WindowResult<Key, Accumulator>>,
        _ after: Batch<Element>,
        key: (Element) -> Key
    ) -> Batch<Self> {
        var partials = Batch<Self>(reservingCapacity: fired.count + after.count, withTime: true)
        var (next, nextAfter) = (0, 0)
        while next < fired.count || nextAfter < after.count {
            if nextAfter == after.count || (next < fired.count && fired.watermarks[next] <= after.watermarks[nextAfter])
            {
                let result = fired.elements[next]
                partials.append(
                    Self(key: result.key, content: .accumulator(result.value)),
                    timestamp: fired.timestamps[next],
                    watermark: fired.watermarks[next]
                )
                next += 1
            } else {
                let element = after.elements[nextAfter]
                partials.append(
                    Self(key: key(element), content: .element(element)),
                    timestamp: after.timestamps[nextAfter],
                    watermark: after.watermarks[nextAfter]
                )
                nextAfter += 1
            }
        }
        return partials
    }
}

/// The loops of a window's two steps, formed in the caller's module where the types are concrete
/// (see ``WindowedStream/aggregate(_:)``).
@usableFromInline
struct TwoStepKernels<Key: Hashable & Sendable & Codable, Element: Sendable, A: Aggregation>: Sendable
where A.Input == Element {
    @usableFromInline typealias Partial = PartialAggregate<Key, Element, A.Accumulator>

    /// The local step's window loops.
    @usableFromInline let local: WindowKernels<Key, Element, LocalAggregation<A>>
    /// The global step's window loops.
    @usableFromInline let global: WindowKernels<Key, Partial, MergingAggregation<Key, A>>
    /// Turns what the local step fired and passed on into partial aggregates.
    @usableFromInline let partials:
        @Sendable (Batch<WindowResult<Key, A.Accumulator>>, Batch<Element>) -> Batch<Partial>
    /// Routes partial aggregates to the workers by key.
    @usableFromInline let route: ExchangeSender<Partial>.Route
    /// Keeps a worker's partial aggregates.
    @usableFromInline let select: RouteSelectOperator<Partial>.Select

    @inlinable
    init(key: @escaping @Sendable (Element) -> Key) {
        local = WindowKernels()
        global = WindowKernels()
        partials = { fired, after in Partial.merging(fired, after, key: key) }
        route = { batch, workers in Partitioner.routes(batch, workers: workers, by: { $0.key }) }
        select = { batch, worker in Partitioner.select(batch, worker: worker) }
    }
}

/// The local step of a two-step window: the base aggregate, with its accumulator as the result.
@usableFromInline
struct LocalAggregation<Base: Aggregation>: Aggregation {
    @usableFromInline typealias Input = Base.Input
    @usableFromInline typealias Accumulator = Base.Accumulator
    @usableFromInline typealias Output = Base.Accumulator

    @usableFromInline let base: Base

    @inlinable
    init(_ base: Base) {
        self.base = base
    }

    @inlinable func accumulator(for first: Input) -> Accumulator { base.accumulator(for: first) }
    @inlinable func add(_ input: Input, to accumulator: inout Accumulator) { base.add(input, to: &accumulator) }
    @inlinable func merge(_ other: Accumulator, into accumulator: inout Accumulator) {
        base.merge(other, into: &accumulator)
    }
    @inlinable func output(of accumulator: Accumulator) -> Accumulator { accumulator }
}

/// The global step of a two-step window: merges the partitions' partial aggregates and adds the
/// elements that came after them.
@usableFromInline
struct MergingAggregation<Key: Sendable, Base: Aggregation>: Aggregation where Base.Input: Sendable {
    @usableFromInline typealias Input = PartialAggregate<Key, Base.Input, Base.Accumulator>
    @usableFromInline typealias Accumulator = Base.Accumulator
    @usableFromInline typealias Output = Base.Output

    @usableFromInline let base: Base

    @inlinable
    init(_ base: Base) {
        self.base = base
    }

    @inlinable
    func accumulator(for first: Input) -> Accumulator {
        switch first.content {
        case .accumulator(let accumulator): accumulator
        case .element(let element): base.accumulator(for: element)
        }
    }

    @inlinable
    func add(_ input: Input, to accumulator: inout Accumulator) {
        switch input.content {
        case .accumulator(let other): base.merge(other, into: &accumulator)
        case .element(let element): base.add(element, to: &accumulator)
        }
    }

    @inlinable func merge(_ other: Accumulator, into accumulator: inout Accumulator) {
        base.merge(other, into: &accumulator)
    }
    @inlinable func output(of accumulator: Accumulator) -> Output { base.output(of: accumulator) }
}

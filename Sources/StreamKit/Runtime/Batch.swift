/// A run of elements that travels through the graph together, with their event times and the
/// watermark in force before each of them.
///
/// StreamKit moves batches, not single records: sources emit hundreds to thousands of elements at
/// once, and each operator handles a batch in one loop. The watermark is still exact per element:
/// `watermarks[i]` is the watermark that held just before `elements[i]` was produced, so an
/// operator decides lateness and fires windows exactly as if records had arrived one by one, and
/// the rows of a pipeline do not depend on how its input was cut into batches.
///
/// Before ``DataStream/eventTime(_:watermark:name:)-((Element)->Timestamp,_,_)`` assigns event time, `timestamps` and
/// `watermarks` are empty.
public struct Batch<Element: Sendable>: Sendable {
    /// The elements.
    public var elements: [Element]
    /// The event time of each element, or empty before event time is assigned.
    public var timestamps: [Timestamp]
    /// The watermark in force before each element, or empty before event time is assigned.
    public var watermarks: [Timestamp]
    /// After a key-partitioned exchange: the worker each element belongs to. Every worker receives
    /// the whole batch and keeps its own elements (see ``Partitioner``); empty otherwise.
    @usableFromInline var routes: [UInt16] = []

    /// Creates a batch; `timestamps` and `watermarks` are either empty or as long as `elements`.
    @inlinable
    public init(elements: [Element], timestamps: [Timestamp] = [], watermarks: [Timestamp] = []) {
        precondition(timestamps.isEmpty || timestamps.count == elements.count, "one timestamp per element")
        precondition(watermarks.isEmpty || watermarks.count == elements.count, "one watermark per element")
        self.elements = elements
        self.timestamps = timestamps
        self.watermarks = watermarks
    }

    /// A batch with room for `capacity` elements, with or without event time.
    @inlinable
    init(reservingCapacity capacity: Int, withTime: Bool) {
        self.elements = []
        self.timestamps = []
        self.watermarks = []
        elements.reserveCapacity(capacity)
        if withTime {
            timestamps.reserveCapacity(capacity)
            watermarks.reserveCapacity(capacity)
        }
    }

    /// The number of elements.
    @inlinable
    public var count: Int { elements.count }

    /// Whether the batch holds no element.
    @inlinable
    public var isEmpty: Bool { elements.isEmpty }

    /// Whether the elements carry event time.
    @inlinable
    public var hasEventTime: Bool { !timestamps.isEmpty }

    /// Appends an element with its time, keeping the three arrays aligned.
    @inlinable
    mutating func append(_ element: Element, timestamp: Timestamp, watermark: Timestamp) {
        elements.append(element)
        timestamps.append(timestamp)
        watermarks.append(watermark)
    }

    /// Appends element `index` of `other`, with its time when `other` has it.
    @inlinable
    mutating func append<Other>(_ element: Element, timeOf index: Int, in other: Batch<Other>) {
        elements.append(element)
        if other.hasEventTime {
            timestamps.append(other.timestamps[index])
            watermarks.append(other.watermarks[index])
        }
    }

    // MARK: Loops of the stateless operators and of the exchange

    /// The batch with each element transformed, and the same times.
    ///
    /// Written into uninitialised storage through buffer pointers: the standard library's `map`
    /// and `filter` go through `Array`'s generic paths (an end-index call and a uniqueness check
    /// per element), several times slower than this loop once specialised in the caller's module.
    @inlinable
    func mapped<Output>(_ transform: (Element) -> Output) -> Batch<Output> {
        let output = elements.withUnsafeBufferPointer { input in
            [Output](unsafeUninitializedCapacity: input.count) { buffer, initialized in
                let base = buffer.baseAddress.unsafelyUnwrapped
                for index in input.indices { (base + index).initialize(to: transform(input[index])) }
                initialized = input.count
            }
        }
        return Batch<Output>(elements: output, timestamps: timestamps, watermarks: watermarks)
    }

    /// The batch of the elements for which `isIncluded` holds, with their times.
    @inlinable
    func filtered(_ isIncluded: (Element) -> Bool) -> Batch<Element> {
        let kept = elements.withUnsafeBufferPointer { input in
            Self.positions(count: input.count) { isIncluded(input[$0]) }
        }
        return kept.count == count ? self : gathered(at: kept)
    }

    /// The positions in `0..<count` for which `holds` is true, in order.
    ///
    /// Without a branch per position: each position is written at the next free slot, which
    /// advances only when `holds` is true. A filter that keeps about half, or the routes of a
    /// two-worker exchange, would otherwise mispredict half the branches.
    @inlinable
    static func positions(count: Int, where holds: (Int) -> Bool) -> [Int32] {
        [Int32](unsafeUninitializedCapacity: count) { buffer, initialized in
            let base = buffer.baseAddress.unsafelyUnwrapped
            var next = 0
            for index in 0..<count {
                (base + next).initialize(to: Int32(truncatingIfNeeded: index))
                next &+= Int(unsafeBitCast(holds(index), to: UInt8.self))
            }
            initialized = next
        }
    }

    /// The elements at `positions`, in that order, with their times.
    @inlinable
    func gathered(at positions: [Int32]) -> Batch<Element> {
        guard hasEventTime else { return Batch(elements: Self.gather(elements, at: positions)) }
        return Batch(
            elements: Self.gather(elements, at: positions),
            timestamps: Self.gather(timestamps, at: positions),
            watermarks: Self.gather(watermarks, at: positions)
        )
    }

    /// The values of `source` at `positions`, in order.
    @inlinable
    static func gather<T>(_ source: [T], at positions: [Int32]) -> [T] {
        [T](unsafeUninitializedCapacity: positions.count) { output, initialized in
            source.withUnsafeBufferPointer { source in
                positions.withUnsafeBufferPointer { positions in
                    let base = output.baseAddress.unsafelyUnwrapped
                    for index in 0..<positions.count {
                        (base + index).initialize(to: source[Int(positions[index])])
                    }
                }
            }
            initialized = positions.count
        }
    }
}

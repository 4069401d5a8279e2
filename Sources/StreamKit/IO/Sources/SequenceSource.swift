/// A source that reads a Swift sequence: an array in a test, a generator in a benchmark.
///
/// The sequence is bounded or not; when it ends, the pipeline sees the end of input, a final
/// watermark fires every open window, and ``Pipeline/run()`` returns.
///
/// ```swift
/// pipeline.source(SequenceSource([1, 2, 3]))
/// ```
public struct SequenceSource<Base: Sequence & Sendable>: Source where Base.Element: Sendable {
    /// The element type the source produces.
    public typealias Element = Base.Element

    /// The sequence to read.
    public let base: Base

    /// Creates a source over `base`.
    public init(_ base: Base) {
        self.base = base
    }

    /// Starts iterating the sequence.
    public func makeReader(context: SourceContext) async throws -> Reader {
        Reader(iterator: base.makeIterator(), base: base)
    }

    /// Pulls up to a batch of elements from the sequence's iterator.
    public struct Reader: SourceReader {
        @usableFromInline var iterator: Base.Iterator
        @usableFromInline var consumed: Int64 = 0
        @usableFromInline let base: Base

        /// How many elements have been read.
        public var position: SourcePosition? { SourcePosition(["count": consumed]) }

        /// Starts over and skips the elements already read.
        public mutating func seek(to position: SourcePosition) async throws {
            iterator = base.makeIterator()
            consumed = 0
            let target = position.offsets["count"] ?? 0
            while consumed < target, iterator.next() != nil { consumed += 1 }
        }

        /// Reads up to `maximumCount` elements.
        @inlinable
        public mutating func read(maximumCount: Int) async throws -> SourceRead<Element> {
            var elements: [Element] = []
            elements.reserveCapacity(maximumCount)
            while elements.count < maximumCount, let next = iterator.next() {
                elements.append(next)
            }
            consumed += Int64(elements.count)
            return elements.isEmpty ? .end : .chunk(SourceChunk(elements: elements))
        }
    }
}

extension SequenceSource where Base: RandomAccessCollection, Base.Index == Int {
    /// Creates a source over an array-like collection, read in slices without iterating one by one.
    public static func collection(_ base: Base) -> CollectionSource<Base> { CollectionSource(base) }
}

/// A source over a random-access collection, read a slice at a time: the fastest in-memory source.
public struct CollectionSource<Base: RandomAccessCollection & Sendable>: Source
where Base.Element: Sendable, Base.Index == Int {
    /// The element type the source produces.
    public typealias Element = Base.Element

    /// The collection to read.
    public let base: Base

    /// Creates a source over `base`.
    public init(_ base: Base) {
        self.base = base
    }

    /// Starts reading at the first element.
    public func makeReader(context: SourceContext) async throws -> Reader {
        Reader(base: base, index: base.startIndex)
    }

    /// Reads consecutive slices of the collection; its position is the index of the next element.
    public struct Reader: SourceReader {
        @usableFromInline let base: Base
        /// The index of the next element to read.
        public var index: Int

        /// The index of the next element, for checkpoints.
        public var position: SourcePosition? { SourcePosition(["index": Int64(index)]) }

        /// Continues at a checkpointed index.
        public mutating func seek(to position: SourcePosition) async throws {
            index = Int(position.offsets["index"] ?? 0)
        }

        /// Reads the next slice of up to `maximumCount` elements.
        @inlinable
        public mutating func read(maximumCount: Int) async throws -> SourceRead<Element> {
            guard index < base.endIndex else { return .end }
            let end = Swift.min(index + maximumCount, base.endIndex)
            let elements = Array(base[index..<end])
            index = end
            return .chunk(SourceChunk(elements: elements))
        }
    }
}

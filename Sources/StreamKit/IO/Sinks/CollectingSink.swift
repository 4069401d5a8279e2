import Synchronization

/// A sink that keeps every element in memory, for tests and small programs.
///
/// ```swift
/// let results = CollectingSink<WindowResult<Int, Int>>()
/// stream.sink(results)
/// try await pipeline.run()
/// #expect(results.elements.count == 3)
/// ```
public final class CollectingSink<Element: Sendable>: Sink, Sendable {
    private let storage = Mutex<(elements: [Element], timestamps: [Timestamp], finished: Bool)>(([], [], false))

    /// Creates an empty sink.
    public init() {}

    /// The elements received so far, in arrival order.
    public var elements: [Element] { storage.withLock { $0.elements } }

    /// The event times of the elements, when the stream carried event time.
    public var timestamps: [Timestamp] { storage.withLock { $0.timestamps } }

    /// Whether the input has ended.
    public var isFinished: Bool { storage.withLock { $0.finished } }

    /// Returns a writer that appends to this sink.
    public func makeWriter(context: SinkContext) async throws -> Writer { Writer(sink: self) }

    /// Appends batches to the sink's storage.
    public final class Writer: SinkWriter {
        let sink: CollectingSink<Element>
        init(sink: CollectingSink<Element>) { self.sink = sink }

        /// Appends the batch.
        public func write(_ batch: Batch<Element>) async throws {
            sink.storage.withLock {
                $0.elements.append(contentsOf: batch.elements)
                $0.timestamps.append(contentsOf: batch.timestamps)
            }
        }

        /// Marks the sink finished.
        public func finish() async throws {
            sink.storage.withLock { $0.finished = true }
        }
    }
}

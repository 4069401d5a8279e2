/// A source of elements: the description of where a pipeline's data comes from.
///
/// A `Source` is a value that can be shared across tasks; when the pipeline runs it calls
/// ``makeReader(context:)`` once, on the task that will read, and then pulls batches from the
/// reader. StreamKit ships sources for Swift sequences (``SequenceSource``), async sequences
/// (``AsyncSequenceSource``), CSV files (``CSVSource``) and JSON Lines files (``JSONLinesSource``);
/// the connectors add MQTT and Kafka.
public protocol Source<Element>: Sendable {
    /// The element type the source produces.
    associatedtype Element: Sendable
    /// The reader that does the work on the pipeline's task.
    associatedtype Reader: SourceReader<Element>

    /// Opens the source.
    /// - Parameter context: The pipeline's settings for this source.
    /// - Throws: When the source cannot be opened (a missing file, an unreachable broker).
    func makeReader(context: SourceContext) async throws -> Reader

    /// What the source reads, such as `file '/data/readings.jsonl'`, or `nil` (the default) when
    /// it cannot tell. Checkpoints record it, and a run refuses to resume from a checkpoint whose
    /// source read something else: its positions would point into another input.
    var identity: String? { get }
}

extension Source {
    /// No identity: checkpoints cannot tell whether the input changed.
    public var identity: String? { nil }
}

/// The reading end of a ``Source``, owned by one task.
public protocol SourceReader<Element> {
    /// The element type the reader produces.
    associatedtype Element: Sendable

    /// Reads what is available, up to `maximumCount` elements.
    ///
    /// Return ``SourceRead/chunk(_:)`` with the elements (and any rejected records),
    /// ``SourceRead/tick(_:)`` when the reader waited and no data came (so that idle inputs can be
    /// detected), or ``SourceRead/end`` when the input is exhausted.
    mutating func read(maximumCount: Int) async throws -> SourceRead<Element>

    /// Where the reader is: recorded in checkpoints, so that a restarted pipeline resumes there.
    /// `nil` for a source that cannot rewind (its guarantee is then at-most-once or, with a broker
    /// that keeps unacknowledged messages, at-least-once).
    var position: SourcePosition? { get }

    /// Moves the reader to a position recorded by ``position``.
    /// - Throws: When the source cannot resume from a position.
    mutating func seek(to position: SourcePosition) async throws

    /// Checkpoint `id` completed; `position` is the reader's ``position`` recorded in it. A source
    /// that reports progress elsewhere (Kafka commits its consumer group's offsets, so that
    /// standard tools show the lag) does it here.
    mutating func checkpointCompleted(_ id: Int64, position: SourcePosition?) async throws

    /// The pipeline is done with the reader (its input ended, it stopped or it failed): release
    /// connections now rather than when the reader is deallocated.
    mutating func close() async

    /// A graceful stop begins: stop taking new input (disconnect from a broker) and say whether
    /// ``read(maximumCount:)`` now returns what the reader already received, then ``SourceRead/end``.
    ///
    /// When it returns `true`, the pipeline reads until that end and processes everything before it
    /// takes the stop's final checkpoint, so that nothing the source has taken from its broker waits
    /// for the next run. Sources that can rewind (files, Kafka) keep the default, `false`: the
    /// checkpoint records where they stopped and the next run reads on from there.
    mutating func stopReceiving() async -> Bool
}

extension SourceReader {
    /// Nothing to release.
    public mutating func close() async {}

    /// Nothing to drain: the checkpoint records where the reader stopped.
    public mutating func stopReceiving() async -> Bool { false }

    /// Nothing to report.
    public mutating func checkpointCompleted(_ id: Int64, position: SourcePosition?) async throws {}

    /// This source cannot rewind.
    public var position: SourcePosition? { nil }

    /// Throws: this source cannot rewind.
    public mutating func seek(to position: SourcePosition) async throws {
        throw StreamKitError(
            code: .checkpoint,
            message: "the source cannot resume from checkpointed position \(position): it cannot rewind"
        )
    }
}

/// What a ``SourceReader`` returns from one read.
public enum SourceRead<Element: Sendable>: Sendable {
    /// Elements read, with the records that could not be read.
    case chunk(SourceChunk<Element>)
    /// No data for now; the processing-time clock reads the given time.
    case tick(Timestamp)
    /// The input is exhausted.
    case end
}

/// Elements read by a ``SourceReader`` in one call.
public struct SourceChunk<Element: Sendable>: Sendable {
    /// The elements, in input order.
    public var elements: [Element]
    /// Records that could not be read, for the source's error output.
    public var errors: [ErrorRecord]

    /// Creates a chunk.
    public init(elements: [Element], errors: [ErrorRecord] = []) {
        self.elements = elements
        self.errors = errors
    }
}

/// The pipeline's settings, as a source sees them.
public struct SourceContext: Sendable {
    /// The source's name in the pipeline.
    public var name: String
    /// How many elements the pipeline wants per batch.
    public var batchSize: Int
    /// How often a waiting reader should return ``SourceRead/tick(_:)``, so that idleness is noticed.
    public var tickInterval: Duration
    /// Whether the pipeline takes checkpoints: only then will
    /// ``SourceReader/checkpointCompleted(_:position:)`` tell the reader what it may forget.
    public var isCheckpointed: Bool

    /// Creates a context: the pipeline makes one per source; tests of a reader make their own.
    public init(name: String, batchSize: Int, tickInterval: Duration, isCheckpointed: Bool = false) {
        self.name = name
        self.batchSize = batchSize
        self.tickInterval = tickInterval
        self.isCheckpointed = isCheckpointed
    }
}

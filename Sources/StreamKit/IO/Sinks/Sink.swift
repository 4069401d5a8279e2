/// A sink: where a stream's elements leave the pipeline.
///
/// A `Sink` is a value that can be shared across tasks; when the pipeline runs it calls
/// ``makeWriter(context:)`` once on the task that writes. A sink receives the elements of all the
/// pipeline's workers through one task, so a writer never needs a lock.
public protocol Sink<Element>: Sendable {
    /// The element type the sink consumes.
    associatedtype Element: Sendable
    /// The writer that does the work on the pipeline's task.
    associatedtype Writer: SinkWriter<Element>

    /// Opens the sink.
    /// - Throws: When the sink cannot be opened (a directory that cannot be created).
    func makeWriter(context: SinkContext) async throws -> Writer
}

/// The writing end of a ``Sink``, owned by one task.
public protocol SinkWriter<Element>: AnyObject {
    /// The element type the writer consumes.
    associatedtype Element: Sendable

    /// Writes a batch. `batch.timestamps` holds event times when the stream has them.
    func write(_ batch: Batch<Element>) async throws
    /// The watermark moved: nothing earlier than it will arrive in time any more.
    func advance(to watermark: Timestamp) async throws
    /// The input ended: flush and close.
    func finish() async throws

    /// A checkpoint's barrier reached the sink: make everything written so far durable, ready to be
    /// made visible when the checkpoint completes, and return what the writer must remember to
    /// commit it after a crash (such as the names of files waiting to be renamed).
    func prepareCheckpoint(_ id: Int64) async throws -> [UInt8]?

    /// Checkpoint `id` and every earlier one completed: make what was prepared for them visible.
    func commitCheckpoint(_ id: Int64) async throws

    /// The run resumes from a checkpoint: finish committing what the snapshots name, and discard
    /// what was written after them.
    func restore(from snapshots: [[UInt8]]) async throws
}

extension SinkWriter {
    /// Ignores watermarks.
    public func advance(to watermark: Timestamp) async throws {}

    /// Nothing to prepare: the writer keeps no state across restarts.
    public func prepareCheckpoint(_ id: Int64) async throws -> [UInt8]? { nil }

    /// Nothing to commit.
    public func commitCheckpoint(_ id: Int64) async throws {}

    /// Nothing to restore.
    public func restore(from snapshots: [[UInt8]]) async throws {}
}

/// The pipeline's settings, as a sink sees them.
public struct SinkContext: Sendable {
    /// The sink's name in the pipeline.
    public var name: String
    /// Whether the pipeline takes checkpoints: a sink that commits on checkpoints then keeps what
    /// it writes invisible until ``SinkWriter/commitCheckpoint(_:)``.
    public var checkpointing: Bool = false
}

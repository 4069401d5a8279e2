import CoreMetrics

/// Hands batches to a ``SinkWriter``; a failure of the writer stops the pipeline with an error that
/// names the sink.
final class SinkOperator<Writer: SinkWriter>: BatchOperator {
    typealias Input = Writer.Element
    let writer: Writer
    /// `writer.write`, as formed in the module that built the pipeline (see `DataStream.sink`).
    let write: @Sendable (Writer, Batch<Writer.Element>) async throws -> Void
    let name: String
    let instance: Int
    private var store: CheckpointStore?
    private var committed: Int64 = 0
    private let recordsOut: CoreMetrics.Counter

    init(
        writer: Writer,
        write: @escaping @Sendable (Writer, Batch<Writer.Element>) async throws -> Void,
        name: String,
        instance: Int,
        metrics: OperatorMetrics
    ) {
        self.writer = writer
        self.write = write
        self.name = name
        self.instance = instance
        self.recordsOut = metrics.counter(StreamKitMetrics.recordsOut)
    }

    func process(_ batch: Batch<Writer.Element>) async throws {
        try await commitCompleted()
        do { try await write(writer, batch) } catch { throw wrap(error) }
        recordsOut.increment(by: Int64(batch.count))
    }

    func barrier(_ barrier: Barrier) async throws {
        store = barrier.store
        try await commitCompleted()
        let state: [UInt8]?
        do { state = try await writer.prepareCheckpoint(barrier.id) } catch { throw wrap(error) }
        try barrier.store.report(barrier.id, operator: name, instance: instance, state: state)
    }

    /// Commits the checkpoints that completed since the last call.
    private func commitCompleted() async throws {
        guard let store else { return }
        let completed = store.completed
        guard completed > committed else { return }
        committed = completed
        do { try await writer.commitCheckpoint(completed) } catch { throw wrap(error) }
    }

    func advance(to watermark: Timestamp) async throws {
        do { try await writer.advance(to: watermark) } catch { throw wrap(error) }
    }

    func markIdle() async throws {}

    /// The pipeline stops: commit what the checkpoints, the last of which was the stop's, cover.
    func stop() async throws {
        try await commitCompleted()
    }

    func finish() async throws {
        try await commitCompleted()
        do { try await writer.finish() } catch { throw wrap(error) }
    }

    private func wrap(_ error: any Error) -> any Error {
        if error is StreamKitError { return error }
        return StreamKitError(code: .sinkFailed, message: "sink '\(name)' failed", underlying: error)
    }
}

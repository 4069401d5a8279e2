/// Keyed windows that do not merge — tumbling, sliding and calendar — with an incremental aggregate.
///
/// State is one bucket per open window, each a hash table from key to accumulator: O(1) state per
/// key and window (see ``WindowState``). The operator advances its watermark element by element
/// (each element carries the watermark in force before it), so a window fires, and an element is
/// judged late, exactly as if elements arrived one at a time:
///
/// - a window fires when the watermark reaches its end; its results carry the event time
///   `end - 1` and the watermark from before the firing, so a downstream window does not see them
///   as late;
/// - an element whose every window has `end + allowedLateness <= watermark` is late: it goes to the
///   late output and is counted;
/// - an element for a window that has fired but is still within its allowed lateness updates the
///   window, and the updated result is emitted at once.
///
/// The per-element loop and the firing run through ``kernels``, closures that
/// ``WindowedStream/aggregate(_:)`` forms in the user's module, where the key, element and aggregate
/// types are concrete, so the loops are specialized rather than run through generic witnesses.
@usableFromInline
final class WindowOperator<Key: Hashable & Sendable & Codable, Input: Sendable, A: Aggregation>: BatchOperator
where A.Input == Input {
    @usableFromInline typealias State = WindowState<Key, Input, A>

    var state: State
    let kernels: WindowKernels<Key, Input, A>
    let name: String
    let instance: Int
    let outputs: WindowOutputs<Key, Input, A.Output>
    var downstream: Downstream<WindowResult<Key, A.Output>> { outputs.results }

    init(
        state: State,
        kernels: WindowKernels<Key, Input, A>,
        downstream: Downstream<WindowResult<Key, A.Output>>,
        lateOutput: Downstream<Input>,
        name: String,
        instance: Int,
        metrics: OperatorMetrics
    ) {
        self.name = name
        self.instance = instance
        self.state = state
        self.kernels = kernels
        self.outputs = WindowOutputs(
            results: downstream,
            late: lateOutput,
            lateRecords: metrics.counter(StreamKitMetrics.lateRecords)
        )
    }

    func process(_ batch: Batch<Input>) async throws {
        kernels.process(&state, batch)
        try await flush()
    }

    func process(_ batch: Batch<Input>, watermarkAfter: Timestamp?) async throws {
        kernels.process(&state, batch)
        guard let watermarkAfter else { return try await flush() }
        try await advance(to: watermarkAfter)
    }

    func advance(to watermark: Timestamp) async throws {
        if watermark > state.watermark { kernels.advance(&state, watermark) }
        try await flush()
        try await downstream.advance(to: watermark)
    }

    func markIdle() async throws {
        try await downstream.markIdle()
    }

    func finish() async throws {
        if state.watermark < .max { kernels.advance(&state, .max) }
        try await flush()
        try await outputs.finish()
    }

    func barrier(_ barrier: Barrier) async throws {
        try await flush()
        try await outputs.barrier(barrier, operator: name, instance: instance, state: snapshot())
    }

    func stop() async throws {
        try await flush()
        try await outputs.stop()
    }

    private func flush() async throws {
        let (pending, late) = state.takePending()
        try await outputs.send(pending, late)
    }
}

extension WindowOperator: Snapshotting {
    func snapshot() throws -> [UInt8] {
        try state.snapshot(instance: instance)
    }

    func restore(from snapshots: [[UInt8]], instance: Int, instances: Int) throws {
        try state.restore(from: snapshots, operator: name, countsLate: instance == 0) { key in
            StateCoding.owns(key, instance: instance, instances: instances)
        }
    }

    /// Takes over, for the keys this instance owns, the partial aggregates that the local steps of
    /// a two-phase run held in the checkpoint (this run aggregates the window in one phase).
    func mergeLocalSteps(from snapshots: [[UInt8]], instance: Int, instances: Int) throws {
        try state.restore(from: snapshots, operator: name, countsLate: false, merging: true) { key in
            StateCoding.owns(key, instance: instance, instances: instances)
        }
    }
}

/// The loops of a window operator, formed in the caller's module where the types are concrete (see
/// ``WindowedStream/aggregate(_:)``): adding a batch to the windows, and moving the watermark, which
/// fires windows.
@usableFromInline
struct WindowKernels<Key: Hashable & Sendable, Input: Sendable, A: Aggregation>: Sendable where A.Input == Input {
    @usableFromInline typealias State = WindowState<Key, Input, A>

    /// Runs ``WindowState/process(_:)``.
    @usableFromInline let process: @Sendable (inout State, Batch<Input>) -> Void
    /// Runs ``WindowState/advance(to:)``.
    @usableFromInline let advance: @Sendable (inout State, Timestamp) -> Void

    @inlinable
    init() {
        process = { state, batch in state.process(batch) }
        advance = { state, watermark in state.advance(to: watermark) }
    }
}

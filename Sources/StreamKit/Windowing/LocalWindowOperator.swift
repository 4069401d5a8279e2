/// The local step of a window aggregated in two phases (see ``AggregationPhases``): it runs in each
/// partition's task and aggregates the partition's own elements per key and window, so that only
/// partial aggregates — one per key, window and partition — cross the exchange to the workers,
/// which merge them (``MergingAggregation``) and fire the windows.
///
/// The local step fires a window's partial aggregates when its partition's watermark reaches the
/// window's end, before it passes that watermark on: the workers' watermark is the minimum over
/// the partitions, so every partial aggregate of a window reaches its worker before the window
/// fires there. An element for a window whose partial aggregate has already been sent is passed
/// on as it is, and the worker judges it against its own watermark, with the allowed lateness,
/// exactly as it would judge an element that came through the exchange: behind one partition the
/// results, the late output and the late counts are those of one phase. The planner uses two phases only when
/// no input of the partitions can go idle (an idle partition stops holding the workers' watermark
/// back, and a partial aggregate sent after that could arrive after its window fired).
///
/// Elements passed on are held and sent together: at the next window boundary (before the
/// watermark that passes it), at a barrier, a stop, the end or an idle mark, once a batch's worth
/// is held, or once they have waited ``maximumHold`` (checked at each batch and at each clock tick
/// of the source, every `tickInterval` while it has no data). They reach the worker in watermark
/// order, each with the watermark in force when it came, and before the watermark that follows
/// them: behind one partition the worker judges them as if each had been sent at once; behind
/// several, the worker combines that watermark with the other partitions' when they arrive, as for
/// any element that crosses the exchange. Sending the few stragglers of every batch as they came
/// woke the workers for a handful of elements each time (about 6,000 sends per run of the
/// canonical benchmark over two partitions, now about 2,000).
final class LocalWindowOperator<Key: Hashable & Sendable & Codable, Element: Sendable, A: Aggregation>: BatchOperator
where A.Input == Element {
    typealias Partial = PartialAggregate<Key, Element, A.Accumulator>
    typealias State = WindowState<Key, Element, LocalAggregation<A>>

    var state: State
    let kernels: TwoStepKernels<Key, Element, A>
    let downstream: Downstream<Partial>
    let name: String
    let instance: Int
    /// The last watermark passed on, and the one from which the next is: the end of the window
    /// the last one fell in. The global step fires windows only at their ends, so passing on every
    /// batch's watermark would only wake the workers; partial aggregates and the elements passed
    /// on carry the watermark in force before each of them anyway.
    private var forwarded = Timestamp.min
    private var nextForward = Timestamp.min
    /// How many elements passed on are held at most (the pipeline's batch size).
    let holdLimit: Int
    /// When the operator first saw elements held (at the end of the batch that passed them on).
    private var heldSince: ContinuousClock.Instant?
    /// How long elements passed on wait before they are sent without a window boundary, checked at
    /// each batch and each clock tick.
    static var maximumHold: Duration { .milliseconds(50) }

    init(
        state: State,
        kernels: TwoStepKernels<Key, Element, A>,
        downstream: Downstream<Partial>,
        name: String,
        instance: Int,
        holdLimit: Int
    ) {
        self.holdLimit = holdLimit
        self.state = state
        self.kernels = kernels
        self.downstream = downstream
        self.name = name
        self.instance = instance
    }

    func process(_ batch: Batch<Element>) async throws {
        kernels.local.process(&state, batch)
        try await flushIfDue()
    }

    func process(_ batch: Batch<Element>, watermarkAfter: Timestamp?) async throws {
        kernels.local.process(&state, batch)
        guard let watermarkAfter else { return try await flushIfDue() }
        try await advance(to: watermarkAfter)
    }

    func advance(to watermark: Timestamp) async throws {
        if watermark > state.watermark { kernels.local.advance(&state, watermark) }
        guard watermark >= nextForward, watermark > forwarded else { return try await flushIfDue() }
        try await flush()
        forwarded = watermark
        nextForward = watermark == .max ? .max : state.assigner.window(for: watermark).end
        try await downstream.advance(to: watermark)
    }

    func markIdle() async throws {
        try await flush()
        try await downstream.markIdle()
    }

    func finish() async throws {
        try await advance(to: .max)
        // `advance` sends only when it passes the watermark on; one already at `.max` does not.
        try await flush()
        try await downstream.finish()
    }

    func barrier(_ barrier: Barrier) async throws {
        try await flush()
        try barrier.store.report(barrier.id, operator: name, instance: instance, state: snapshot())
        try await downstream.barrier(barrier)
    }

    func stop() async throws {
        try await flush()
        try await downstream.stop()
    }

    /// Sends what is pending unless only elements passed on are, fewer than ``holdLimit`` and held
    /// for less than ``maximumHold``.
    private func flushIfDue() async throws {
        if state.pending.isEmpty && state.pendingLate.count < holdLimit {
            if state.pendingLate.isEmpty { return }
            let now = ContinuousClock.now
            guard let since = heldSince else {
                heldSince = now
                return
            }
            if since.duration(to: now) < Self.maximumHold { return }
        }
        try await flush()
    }

    /// Sends the partial aggregates fired and the elements passed on since the last call.
    private func flush() async throws {
        heldSince = nil
        if state.pending.isEmpty && state.pendingLate.isEmpty { return }
        let (fired, after) = state.takePending()
        try await downstream.process(kernels.partials(fired, after))
    }
}

extension LocalWindowOperator: ProcessingTimeAware {
    /// Sends held elements that have waited ``maximumHold``, while the source has no data.
    func tick(now: Timestamp) async throws {
        try await flushIfDue()
    }
}

extension LocalWindowOperator: Snapshotting {
    func snapshot() throws -> [UInt8] {
        try state.snapshot(instance: instance)
    }

    /// Restores this partition's own partial aggregates: they belong to its position in the input.
    /// (A checkpoint with partial aggregates of partitions this run does not have is refused before
    /// the run starts: see `ExecutionPlan.validate(_:)`.)
    func restore(from snapshots: [[UInt8]], instance: Int, instances: Int) throws {
        try state.restore(from: snapshots, operator: name, only: instance, countsLate: false) { _ in true }
    }
}

/// The late output of the global step of a two-step window: the elements its worker judged late,
/// taken out of their ``PartialAggregate``.
final class StragglerOutput<Key: Sendable, Element: Sendable, Accumulator: Sendable>: BatchOperator {
    let downstream: Downstream<Element>

    init(downstream: Downstream<Element>) {
        self.downstream = downstream
    }

    func process(_ batch: Batch<PartialAggregate<Key, Element, Accumulator>>) async throws {
        try await downstream.process(
            batch.mapped { partial in
                guard case .element(let element) = partial.content else {
                    // The local step sends a window's partial aggregate before its partition's
                    // watermark passes the window's end, and no partition is ever idle when the
                    // window runs in two steps: a late partial aggregate is a bug in the planner.
                    preconditionFailure("a partial aggregate reached its worker after its window had fired")
                }
                return element
            }
        )
    }

    func advance(to watermark: Timestamp) async throws { try await downstream.advance(to: watermark) }
    func markIdle() async throws { try await downstream.markIdle() }
    func finish() async throws { try await downstream.finish() }
    func barrier(_ barrier: Barrier) async throws { try await downstream.barrier(barrier) }
    func stop() async throws { try await downstream.stop() }
}

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
/// The per-element loop runs through ``kernel``, a closure that ``WindowedStream/aggregate(_:)``
/// forms in the user's module, where the key, element and aggregate types are concrete, so the loop
/// is specialized rather than run through generic witnesses.
@usableFromInline
final class WindowOperator<Key: Hashable & Sendable & Codable, Input: Sendable, A: Aggregation>: BatchOperator
where A.Input == Input {
    @usableFromInline typealias State = WindowState<Key, Input, A>
    /// Runs ``WindowState/process(_:)`` specialized for the concrete types.
    @usableFromInline typealias Kernel = @Sendable (inout State, Batch<Input>) -> Void

    var state: State
    let kernel: Kernel
    let name: String
    let instance: Int
    let outputs: WindowOutputs<Key, Input, A.Output>
    var downstream: Downstream<WindowResult<Key, A.Output>> { outputs.results }

    init(
        state: State,
        kernel: @escaping Kernel,
        downstream: Downstream<WindowResult<Key, A.Output>>,
        lateOutput: Downstream<Input>,
        name: String,
        instance: Int,
        metrics: OperatorMetrics
    ) {
        self.name = name
        self.instance = instance
        self.state = state
        self.kernel = kernel
        self.outputs = WindowOutputs(
            results: downstream,
            late: lateOutput,
            lateRecords: metrics.counter(StreamKitMetrics.lateRecords)
        )
    }

    func process(_ batch: Batch<Input>) async throws {
        kernel(&state, batch)
        try await flush()
    }

    func process(_ batch: Batch<Input>, watermarkAfter: Timestamp?) async throws {
        kernel(&state, batch)
        guard let watermarkAfter else { return try await flush() }
        if watermarkAfter > state.watermark { state.advance(to: watermarkAfter) }
        try await flush()
        try await downstream.advance(to: watermarkAfter)
    }

    func advance(to watermark: Timestamp) async throws {
        if watermark > state.watermark { state.advance(to: watermark) }
        try await flush()
        try await downstream.advance(to: watermark)
    }

    func markIdle() async throws {
        try await downstream.markIdle()
    }

    func finish() async throws {
        if state.watermark < .max { state.advance(to: .max) }
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
        let (pending, late) = (state.pending, state.pendingLate)
        state.pending = Batch(elements: [], timestamps: [], watermarks: [])
        state.pendingLate = Batch(elements: [], timestamps: [], watermarks: [])
        try await outputs.send(pending, late)
    }
}

extension WindowOperator: Snapshotting {
    /// The checkpointed form of a window operator: every open window with its keys and accumulators.
    ///
    /// When keys and accumulators are plain values (integers, doubles, structs of them), their
    /// arrays are stored as raw memory with a description of their layout, which is checked on
    /// restore: a million keys then cost a copy instead of a million encodings.
    struct Snapshot: Codable {
        struct Bucket: Codable {
            var window: Window
            var fired: Bool
            var keys: [Key]?
            var accumulators: [A.Accumulator]?
            var rawKeys: [UInt8]?
            var rawAccumulators: [UInt8]?
        }
        var watermark: Timestamp
        var lateCount: Int
        var layout: String?
        var buckets: [Bucket]
    }

    /// The layout of raw state, or `nil` when keys or accumulators are not plain values.
    private static var rawLayout: String? {
        guard _isPOD(Key.self), _isPOD(A.Accumulator.self) else { return nil }
        return "\(String(reflecting: Key.self)):\(MemoryLayout<Key>.stride) "
            + "\(String(reflecting: A.Accumulator.self)):\(MemoryLayout<A.Accumulator>.stride)"
    }

    private static func raw<T>(_ values: [T]) -> [UInt8] {
        values.withUnsafeBytes { Array($0) }
    }

    private static func values<T>(_ bytes: [UInt8], as type: T.Type) -> [T] {
        let count = bytes.count / MemoryLayout<T>.stride
        return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            bytes.withUnsafeBytes { source in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(
                    from: UnsafeRawBufferPointer(rebasing: source[0..<(count * MemoryLayout<T>.stride)])
                )
            }
            initialized = count
        }
    }

    func snapshot() throws -> [UInt8] {
        let layout = Self.rawLayout
        return try StateCoding.encode(
            Snapshot(
                watermark: state.watermark,
                lateCount: state.lateCount,
                layout: layout,
                buckets: state.buckets.map { bucket in
                    layout == nil
                        ? .init(
                            window: bucket.window,
                            fired: bucket.fired,
                            keys: bucket.table.keys,
                            accumulators: bucket.table.values
                        )
                        : .init(
                            window: bucket.window,
                            fired: bucket.fired,
                            rawKeys: Self.raw(bucket.table.keys),
                            rawAccumulators: Self.raw(bucket.table.values)
                        )
                }
            )
        )
    }

    func restore(from snapshots: [[UInt8]], instance: Int, instances: Int) throws {
        for bytes in snapshots {
            let snapshot = try StateCoding.decode(Snapshot.self, from: bytes, operator: name)
            if let layout = snapshot.layout, layout != Self.rawLayout {
                throw StreamKitError(
                    code: .checkpoint,
                    message: "the checkpointed state of '\(name)' was written for keys and accumulators \(layout), "
                        + "not \(Self.rawLayout ?? "of the current types"): the aggregate or key type changed; "
                        + "start fresh or restore the old types"
                )
            }
            state.watermark = Swift.max(state.watermark, snapshot.watermark)
            state.lateCount += instance == 0 ? snapshot.lateCount : 0
            for bucket in snapshot.buckets {
                let keys = bucket.keys ?? bucket.rawKeys.map { Self.values($0, as: Key.self) } ?? []
                let accumulators =
                    bucket.accumulators ?? bucket.rawAccumulators.map { Self.values($0, as: A.Accumulator.self) } ?? []
                let index = state.findOrInsertBucket(for: bucket.window)
                state.buckets[index].fired = state.buckets[index].fired || bucket.fired
                state.buckets[index].table.reserve(keys.count)
                for (key, accumulator) in zip(keys, accumulators)
                where StateCoding.owns(key, instance: instance, instances: instances) {
                    state.buckets[index].table.insert(key, accumulator)
                }
            }
        }
        state.recomputeNextAction()
    }
}

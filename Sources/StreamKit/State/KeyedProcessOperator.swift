import HeapModule

/// Runs a ``KeyedProcessFunction``: keeps each key's state, and fires event-time timers in time
/// order as the watermark advances, element by element.
final class KeyedProcessOperator<Function: KeyedProcessFunction>: BatchOperator {
    typealias Input = Function.Input
    typealias Context = KeyedProcessContext<Function.Key, Function.State, Function.Output>

    struct Timer: Hashable, Comparable, Codable {
        var time: Timestamp
        var key: Function.Key
        static func < (lhs: Timer, rhs: Timer) -> Bool { lhs.time < rhs.time }
    }

    let function: Function
    let key: @Sendable (Input) -> Function.Key
    let downstream: Downstream<Function.Output>
    let errors: ErrorOutput
    let instance: Int

    /// The state of every key: the one state store that checkpoints snapshot.
    var state = KeyedStateStore<Function.Key, Function.State>()
    var timerQueue = Heap<Timer>()
    var timerSet = Set<Timer>()
    var watermark = Timestamp.min
    private var pending = Batch<Function.Output>(reservingCapacity: 0, withTime: true)
    private var rejected: [ErrorRecord] = []

    init(
        function: Function,
        key: @escaping @Sendable (Input) -> Function.Key,
        downstream: Downstream<Function.Output>,
        errors: ErrorOutput,
        instance: Int
    ) {
        self.instance = instance
        self.function = function
        self.key = key
        self.downstream = downstream
        self.errors = errors
    }

    func process(_ batch: Batch<Input>) async throws {
        for index in 0..<batch.count {
            let elementWatermark = batch.watermarks[index]
            if elementWatermark > watermark { fireTimers(upTo: elementWatermark) }
            let element = batch.elements[index]
            let key = key(element)
            var context = Context(
                key: key,
                state: state[key],
                timestamp: batch.timestamps[index],
                watermark: watermark
            )
            do {
                try function.process(element, context: &context)
                apply(context)
            } catch {
                rejected.append(
                    ErrorRecord(origin: errors.origin, reason: "\(error)", raw: Array(String(describing: element).utf8))
                )
            }
        }
        try await flush()
    }

    func advance(to watermark: Timestamp) async throws {
        if watermark > self.watermark { fireTimers(upTo: watermark) }
        try await flush()
        try await downstream.advance(to: watermark)
    }

    func markIdle() async throws { try await downstream.markIdle() }

    func finish() async throws {
        if watermark < .max { fireTimers(upTo: .max) }
        try await flush()
        try await downstream.finish()
        try await errors.finish()
    }

    func barrier(_ barrier: Barrier) async throws {
        try await flush()
        try barrier.store.report(barrier.id, operator: errors.origin, instance: instance, state: snapshot())
        try await downstream.barrier(barrier)
        try await errors.barrier(barrier)
    }

    func stop() async throws {
        try await flush()
        try await downstream.stop()
        try await errors.downstream.stop()
    }

    private func apply(_ context: Context) {
        state[context.key] = context.state
        for (output, time) in context.outputs {
            pending.append(output, timestamp: time, watermark: watermark)
        }
        for time in context.timersToDelete {
            timerSet.remove(Timer(time: time, key: context.key))
        }
        for time in context.timersToSet {
            let timer = Timer(time: time, key: context.key)
            if timerSet.insert(timer).inserted { timerQueue.insert(timer) }
        }
    }

    private func fireTimers(upTo newWatermark: Timestamp) {
        let previous = watermark
        watermark = newWatermark
        while let first = timerQueue.min, first.time <= newWatermark {
            let timer = timerQueue.removeMin()
            // Deleted timers stay in the queue until they come up; the set says which are live.
            guard timerSet.remove(timer) != nil else { continue }
            var context = Context(key: timer.key, state: state[timer.key], timestamp: timer.time, watermark: previous)
            do {
                try function.onTimer(at: timer.time, context: &context)
                apply(context)
            } catch {
                rejected.append(
                    ErrorRecord(
                        origin: errors.origin,
                        reason: "timer at \(timer.time) for key \(timer.key): \(error)",
                        raw: []
                    )
                )
            }
        }
    }

    private func flush() async throws {
        if !pending.isEmpty {
            let batch = pending
            pending = Batch(reservingCapacity: 0, withTime: true)
            try await downstream.process(batch)
        }
        if !rejected.isEmpty {
            let records = rejected
            rejected = []
            try await errors.emit(records)
        }
    }
}

extension KeyedProcessOperator: Snapshotting {
    /// The checkpointed form of a keyed process operator: the state of every key and its timers.
    struct Snapshot: Codable {
        var watermark: Timestamp
        var state: KeyedStateStore<Function.Key, Function.State>
        var timers: [Timer]
    }

    func snapshot() throws -> [UInt8] {
        try StateCoding.encode(Snapshot(watermark: watermark, state: state, timers: Array(timerSet)))
    }

    func restore(from snapshots: [[UInt8]], instance: Int, instances: Int) throws {
        for bytes in snapshots {
            let snapshot = try StateCoding.decode(Snapshot.self, from: bytes, operator: errors.origin)
            watermark = Swift.max(watermark, snapshot.watermark)
            for (key, value) in snapshot.state.entries
            where StateCoding.owns(key, instance: instance, instances: instances) {
                state[key] = value
            }
            for timer in snapshot.timers
            where StateCoding.owns(timer.key, instance: instance, instances: instances) {
                if timerSet.insert(timer).inserted { timerQueue.insert(timer) }
            }
        }
    }
}

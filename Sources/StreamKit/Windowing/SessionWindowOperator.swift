import HeapModule

/// Keyed session windows: a key's elements closer than the gap form one window, which closes when
/// the watermark passes its last element plus the gap.
///
/// Each element opens the window [time, time + gap); windows of the same key that overlap or touch
/// merge, and so do their accumulators. A merged window that ends, with its allowed lateness, at or
/// before the watermark is late, and so is the element that would have made it.
final class SessionWindowOperator<Key: Hashable & Sendable & Codable, Input: Sendable, A: Aggregation>: BatchOperator
where A.Input == Input {
    typealias Output = WindowResult<Key, A.Output>

    struct Session: Codable {
        var window: Window
        var accumulator: A.Accumulator
        var fired = false
    }

    struct Timer: Comparable {
        var time: Timestamp
        var key: Key
        static func < (lhs: Timer, rhs: Timer) -> Bool { lhs.time < rhs.time }
        static func == (lhs: Timer, rhs: Timer) -> Bool { lhs.time == rhs.time && lhs.key == rhs.key }
    }

    let key: @Sendable (Input) -> Key
    let aggregation: A
    let gap: Int64
    let lateness: Int64
    let outputs: WindowOutputs<Key, Input, A.Output>
    var downstream: Downstream<Output> { outputs.results }
    let name: String
    let instance: Int

    var sessions: [Key: [Session]] = [:]
    var timers = Heap<Timer>()
    var watermark = Timestamp.min
    private var pending = Batch<Output>(reservingCapacity: 0, withTime: true)
    private var pendingLate = Batch<Input>(reservingCapacity: 0, withTime: true)
    private(set) var lateCount = 0

    init(
        key: @escaping @Sendable (Input) -> Key,
        aggregation: A,
        gap: Int64,
        allowedLateness: Duration,
        downstream: Downstream<Output>,
        lateOutput: Downstream<Input>,
        name: String,
        instance: Int,
        metrics: OperatorMetrics
    ) {
        self.name = name
        self.instance = instance
        self.key = key
        self.aggregation = aggregation
        self.gap = gap
        self.lateness = allowedLateness.streamKitMicroseconds
        self.outputs = WindowOutputs(
            results: downstream,
            late: lateOutput,
            lateRecords: metrics.counter(StreamKitMetrics.lateRecords)
        )
    }

    func process(_ batch: Batch<Input>) async throws {
        for index in 0..<batch.count {
            let elementWatermark = batch.watermarks[index]
            if elementWatermark > watermark { advanceState(to: elementWatermark) }
            let element = batch.elements[index]
            let time = batch.timestamps[index]
            let key = key(element)
            var merged = Window(start: time, end: time.advanced(by: gap))
            var list = sessions[key] ?? []
            var overlapping: [Int] = []
            for (position, session) in list.enumerated()
            where session.window.start <= merged.end && merged.start <= session.window.end {
                overlapping.append(position)
                merged = Window(
                    start: Swift.min(merged.start, session.window.start),
                    end: Swift.max(merged.end, session.window.end)
                )
            }
            if merged.end.advanced(by: lateness) <= watermark {
                lateCount += 1
                pendingLate.append(element, timestamp: time, watermark: elementWatermark)
                continue
            }
            var accumulator = aggregation.accumulator(for: element)
            for position in overlapping {
                aggregation.merge(list[position].accumulator, into: &accumulator)
            }
            for position in overlapping.reversed() { list.remove(at: position) }
            var session = Session(window: merged, accumulator: accumulator)
            if merged.end <= watermark {
                // Merged into a fired session within its lateness: emit the update now.
                emit(key: key, session: session, watermark: watermark)
                session.fired = true
                timers.insert(Timer(time: merged.end.advanced(by: lateness), key: key))
            } else {
                timers.insert(Timer(time: merged.end, key: key))
            }
            list.append(session)
            sessions[key] = list
        }
        try await flush()
    }

    func advance(to watermark: Timestamp) async throws {
        if watermark > self.watermark { advanceState(to: watermark) }
        try await flush()
        try await downstream.advance(to: watermark)
    }

    func markIdle() async throws { try await downstream.markIdle() }

    func finish() async throws {
        if watermark < .max { advanceState(to: .max) }
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

    private func emit(key: Key, session: Session, watermark: Timestamp) {
        pending.append(
            WindowResult(key: key, window: session.window, value: aggregation.output(of: session.accumulator)),
            timestamp: session.window.maxTimestamp,
            watermark: watermark
        )
    }

    private func advanceState(to newWatermark: Timestamp) {
        let previous = watermark
        watermark = newWatermark
        // Timers are popped in time order; a timer whose session has since merged finds nothing.
        var due: [Timer] = []
        while let first = timers.min, first.time <= newWatermark {
            due.append(timers.removeMin())
        }
        for timer in due {
            guard var list = sessions[timer.key] else { continue }
            var changed = false
            var index = 0
            while index < list.count {
                let end = list[index].window.end
                if !list[index].fired && end <= newWatermark {
                    emit(key: timer.key, session: list[index], watermark: previous)
                    list[index].fired = true
                    changed = true
                    if lateness > 0 { timers.insert(Timer(time: end.advanced(by: lateness), key: timer.key)) }
                }
                if list[index].fired && end.advanced(by: lateness) <= newWatermark {
                    list.remove(at: index)
                    changed = true
                } else {
                    index += 1
                }
            }
            if changed { sessions[timer.key] = list.isEmpty ? nil : list }
        }
    }

    private func flush() async throws {
        let (results, late) = (pending, pendingLate)
        pending = Batch(elements: [], timestamps: [], watermarks: [])
        pendingLate = Batch(elements: [], timestamps: [], watermarks: [])
        try await outputs.send(results, late)
    }
}

extension SessionWindowOperator: Snapshotting {
    /// The checkpointed form of the session operator: every key's open sessions.
    struct Snapshot: Codable {
        var watermark: Timestamp
        var keys: [Key]
        var sessions: [[Session]]
    }

    func snapshot() throws -> [UInt8] {
        try StateCoding.encode(
            Snapshot(watermark: watermark, keys: Array(sessions.keys), sessions: Array(sessions.values))
        )
    }

    func restore(from snapshots: [[UInt8]], instance: Int, instances: Int) throws {
        for bytes in snapshots {
            let snapshot = try StateCoding.decode(Snapshot.self, from: bytes, operator: name)
            watermark = Swift.max(watermark, snapshot.watermark)
            for (key, list) in zip(snapshot.keys, snapshot.sessions)
            where StateCoding.owns(key, instance: instance, instances: instances) {
                sessions[key] = list
                for session in list {
                    let end = session.window.end
                    timers.insert(Timer(time: session.fired ? end.advanced(by: lateness) : end, key: key))
                }
            }
        }
    }
}

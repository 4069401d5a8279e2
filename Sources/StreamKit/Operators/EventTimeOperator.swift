import CoreMetrics

/// The watermark state of an event-time operator, and the per-element loop that assigns event
/// times and watermarks.
@usableFromInline
struct EventClock: Codable {
    /// How far the watermark stays behind the highest event time, in microseconds.
    @usableFromInline let bound: Int64
    /// The highest event time seen.
    @usableFromInline var highest = Timestamp.min
    /// The watermark after the last element.
    @usableFromInline var current = Timestamp.min
    /// With per-partition watermarks: the highest event time of each input partition, and whether
    /// it is idle; `nil` when the watermark is computed over the whole input.
    @usableFromInline var partitions: [Int: PartitionMark]?

    /// What the clock knows of one input partition.
    @usableFromInline
    struct PartitionMark: Codable {
        /// The highest event time seen in the partition.
        @usableFromInline var highest: Timestamp
        /// When the partition last had data (processing time).
        @usableFromInline var lastData: Timestamp
        /// Whether the partition has had no data for the idle timeout.
        @usableFromInline var idle: Bool

        @usableFromInline
        init(highest: Timestamp, lastData: Timestamp, idle: Bool) {
            self.highest = highest
            self.lastData = lastData
            self.idle = idle
        }
    }

    init(bound: Int64) {
        self.bound = bound
    }

    /// The watermark of partitioned input: the minimum over the partitions that are not idle of
    /// their highest event time minus the bound; `min` when every partition is idle.
    @inlinable
    func partitionedWatermark(_ marks: [Int: PartitionMark]) -> Timestamp {
        var lowest = Timestamp.max
        var any = false
        for mark in marks.values where !mark.idle {
            any = true
            if mark.highest < lowest { lowest = mark.highest }
        }
        return any && lowest > .min ? lowest.advanced(by: -bound) : .min
    }

    /// Like ``assign(_:_:)``, with the watermark taken as the minimum over the input's partitions
    /// (the partitions of a Kafka topic, say), so that a partition behind the others holds the
    /// watermark back instead of seeing its elements turn late. A partition counts from its first
    /// element on, and stops counting while it is idle.
    @inlinable
    mutating func assign<Element>(
        _ elements: [Element],
        _ extract: (Element) -> Timestamp,
        partition: (Element) -> Int,
        now: Timestamp
    ) -> (timestamps: [Timestamp], watermarks: [Timestamp]) {
        var marks = partitions ?? [:]
        var timestamps: [Timestamp] = []
        var watermarks: [Timestamp] = []
        timestamps.reserveCapacity(elements.count)
        watermarks.reserveCapacity(elements.count)
        for element in elements {
            let time = extract(element)
            let key = partition(element)
            timestamps.append(time)
            watermarks.append(current)
            var mark = marks[key] ?? PartitionMark(highest: .min, lastData: now, idle: false)
            let wasIdle = mark.idle
            mark.lastData = now
            mark.idle = false
            let advanced = time > mark.highest
            if advanced { mark.highest = time }
            marks[key] = mark
            if time > highest { highest = time }
            if advanced || wasIdle {
                let next = partitionedWatermark(marks)
                if next > current { current = next }
            }
        }
        partitions = marks
        return (timestamps, watermarks)
    }

    /// Marks the partitions without data since `now - idleTimeout` idle; returns whether the
    /// watermark advanced because of it.
    mutating func markIdlePartitions(now: Timestamp, idleTimeout: Int64) -> Bool {
        guard var marks = partitions else { return false }
        var changed = false
        for (key, mark) in marks where !mark.idle && now.microseconds &- mark.lastData.microseconds >= idleTimeout {
            marks[key]!.idle = true
            changed = true
        }
        partitions = marks
        guard changed else { return false }
        let next = partitionedWatermark(marks)
        guard next > current else { return false }
        current = next
        return true
    }

    /// Computes each element's event time and the watermark in force before it.
    @inlinable
    mutating func assign<Element>(
        _ elements: [Element],
        _ extract: (Element) -> Timestamp
    ) -> (timestamps: [Timestamp], watermarks: [Timestamp]) {
        let count = elements.count
        var highest = self.highest
        var current = self.current
        let bound = self.bound
        var watermarks = [Timestamp]()
        let timestamps = [Timestamp](unsafeUninitializedCapacity: count) { times, initialized in
            watermarks = [Timestamp](unsafeUninitializedCapacity: count) { marks, marked in
                elements.withUnsafeBufferPointer { elements in
                    for index in 0..<count {
                        let time = extract(elements[index])
                        times[index] = time
                        marks[index] = current
                        if time > highest {
                            highest = time
                            let next = time.advanced(by: -bound)
                            if next > current { current = next }
                        }
                    }
                }
                marked = count
            }
            initialized = count
        }
        self.highest = highest
        self.current = current
        return (timestamps, watermarks)
    }
}

/// Assigns each element its event time, and the watermark in force before it.
///
/// The watermark is the highest event time seen minus the strategy's bound, computed per element, so
/// that lateness does not depend on how the input was cut into batches. After each batch the
/// operator forwards the new watermark. When the input has had no data for the idle timeout, it
/// tells its consumers that it is idle. The end of the input is a final watermark at plus infinity.
@usableFromInline
final class EventTimeOperator<Element: Sendable>: BatchOperator, ProcessingTimeAware {
    /// Runs ``EventClock/assign(_:_:)`` specialized for the element type.
    @usableFromInline typealias Kernel =
        @Sendable ([Element], inout EventClock) -> (
            timestamps: [Timestamp], watermarks: [Timestamp]
        )

    let kernel: Kernel
    let idleTimeout: Int64?
    let downstream: Downstream<Element>
    var clock: EventClock
    var emitted = Timestamp.min
    private var lastData = Timestamp.now
    private var idle = false

    let name: String
    let instance: Int
    private let watermarkGauge: CoreMetrics.Gauge
    private let lagGauge: CoreMetrics.Gauge

    init(
        kernel: @escaping Kernel,
        strategy: WatermarkStrategy,
        downstream: Downstream<Element>,
        name: String,
        instance: Int,
        metrics: OperatorMetrics
    ) {
        self.watermarkGauge = metrics.gauge(StreamKitMetrics.watermark)
        self.lagGauge = metrics.gauge(StreamKitMetrics.watermarkLag)
        self.name = name
        self.instance = instance
        self.kernel = kernel
        self.clock = EventClock(bound: strategy.bound.streamKitMicroseconds)
        self.idleTimeout = strategy.idleTimeout?.streamKitMicroseconds
        self.downstream = downstream
    }

    func process(_ batch: Batch<Element>) async throws {
        if batch.isEmpty { return }
        let (timestamps, watermarks) = kernel(batch.elements, &clock)
        if idleTimeout != nil { lastData = .now }
        idle = false
        var watermarkAfter: Timestamp?
        if clock.current > emitted {
            emitted = clock.current
            watermarkAfter = emitted
            recordWatermark()
        }
        try await downstream.process(
            Batch(elements: batch.elements, timestamps: timestamps, watermarks: watermarks),
            watermarkAfter: watermarkAfter
        )
    }

    /// Reports the watermark and how far it is behind processing time.
    private func recordWatermark() {
        guard emitted > .min, emitted < .max else { return }
        watermarkGauge.record(Double(emitted.microseconds) / 1e6)
        lagGauge.record(Double(Timestamp.now.microseconds &- emitted.microseconds) / 1e6)
    }

    /// Upstream watermarks are replaced by this operator's own.
    func advance(to watermark: Timestamp) async throws {}

    /// Idleness is decided by this operator's own timeout.
    func markIdle() async throws {}

    func finish() async throws {
        if emitted < .max {
            emitted = .max
            try await downstream.advance(to: .max)
        }
        try await downstream.finish()
    }

    func barrier(_ barrier: Barrier) async throws {
        try barrier.store.report(barrier.id, operator: name, instance: instance, state: snapshot())
        try await downstream.barrier(barrier)
    }

    func stop() async throws { try await downstream.stop() }

    func tick(now: Timestamp) async throws {
        guard let idleTimeout else { return }
        if clock.markIdlePartitions(now: now, idleTimeout: idleTimeout), clock.current > emitted {
            emitted = clock.current
            recordWatermark()
            try await downstream.advance(to: emitted)
        }
        guard !idle else { return }
        if now.microseconds &- lastData.microseconds >= idleTimeout {
            idle = true
            try await downstream.markIdle()
        }
    }
}

extension EventTimeOperator: Snapshotting {
    struct Snapshot: Codable {
        var clock: EventClock
        var emitted: Timestamp
        /// The copy that took the snapshot (absent in checkpoints of earlier versions).
        var instance: Int?
    }

    func snapshot() throws -> [UInt8] {
        try StateCoding.encode(Snapshot(clock: clock, emitted: emitted, instance: instance))
    }

    /// Restores this copy's own clock: behind a partitioned source each copy follows its own
    /// partition, and taking another partition's clock would turn this partition's elements late.
    /// Without a snapshot of its own (an older checkpoint), the most advanced clock is taken.
    func restore(from snapshots: [[UInt8]], instance: Int, instances: Int) throws {
        let decoded = try snapshots.map { try StateCoding.decode(Snapshot.self, from: $0, operator: name) }
        let own = decoded.filter { $0.instance == instance }
        for snapshot in own.isEmpty ? decoded : own {
            if snapshot.clock.highest > clock.highest { clock = snapshot.clock }
            emitted = Swift.max(emitted, snapshot.emitted)
        }
        // Idleness is measured from the restart: the time the pipeline was down is not silence.
        if var marks = clock.partitions {
            let now = Timestamp.now
            for key in marks.keys { marks[key]!.lastData = now }
            clock.partitions = marks
        }
    }
}

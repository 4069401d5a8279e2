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

    init(bound: Int64) {
        self.bound = bound
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

    init(
        kernel: @escaping Kernel,
        strategy: WatermarkStrategy,
        downstream: Downstream<Element>,
        name: String,
        instance: Int
    ) {
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
        }
        try await downstream.process(
            Batch(elements: batch.elements, timestamps: timestamps, watermarks: watermarks),
            watermarkAfter: watermarkAfter
        )
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
        guard let idleTimeout, !idle else { return }
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
    }

    func snapshot() throws -> [UInt8] {
        try StateCoding.encode(Snapshot(clock: clock, emitted: emitted))
    }

    func restore(from snapshots: [[UInt8]], instance: Int, instances: Int) throws {
        for bytes in snapshots {
            let snapshot = try StateCoding.decode(Snapshot.self, from: bytes, operator: name)
            if snapshot.clock.highest > clock.highest { clock = snapshot.clock }
            emitted = Swift.max(emitted, snapshot.emitted)
        }
    }
}

/// Assigns each element its event time, and the watermark in force before it.
///
/// The watermark is the highest event time seen minus the strategy's bound, computed per element, so
/// that lateness does not depend on how the input was cut into batches. After each batch the
/// operator forwards the new watermark. When the input has had no data for the idle timeout, it
/// tells its consumers that it is idle. The end of the input is a final watermark at plus infinity.
final class EventTimeOperator<Element: Sendable>: BatchOperator, ProcessingTimeAware {
    let extract: @Sendable (Element) -> Timestamp
    let bound: Int64
    let idleTimeout: Int64?
    let downstream: Downstream<Element>
    private var highest = Timestamp.min
    private var emitted = Timestamp.min
    private var lastData = Timestamp.now
    private var idle = false

    init(
        extract: @escaping @Sendable (Element) -> Timestamp,
        strategy: WatermarkStrategy,
        downstream: Downstream<Element>
    ) {
        self.extract = extract
        self.bound = strategy.bound.streamKitMicroseconds
        self.idleTimeout = strategy.idleTimeout?.streamKitMicroseconds
        self.downstream = downstream
    }

    private var watermark: Timestamp { highest.advanced(by: -bound) }

    func process(_ batch: Batch<Element>) async throws {
        let count = batch.count
        if count == 0 { return }
        var timestamps = [Timestamp](repeating: .min, count: count)
        var watermarks = [Timestamp](repeating: .min, count: count)
        var highest = self.highest
        var current = Swift.max(emitted, highest.advanced(by: -bound))
        batch.elements.withUnsafeBufferPointer { elements in
            timestamps.withUnsafeMutableBufferPointer { timestamps in
                watermarks.withUnsafeMutableBufferPointer { watermarks in
                    for index in 0..<count {
                        let time = extract(elements[index])
                        timestamps[index] = time
                        watermarks[index] = current
                        if time > highest {
                            highest = time
                            let next = time.advanced(by: -bound)
                            if next > current { current = next }
                        }
                    }
                }
            }
        }
        self.highest = highest
        if idleTimeout != nil { lastData = .now }
        idle = false
        try await downstream.process(Batch(elements: batch.elements, timestamps: timestamps, watermarks: watermarks))
        if current > emitted {
            emitted = current
            try await downstream.advance(to: current)
        }
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

    func tick(now: Timestamp) async throws {
        guard let idleTimeout, !idle else { return }
        if now.microseconds &- lastData.microseconds >= idleTimeout {
            idle = true
            try await downstream.markIdle()
        }
    }
}

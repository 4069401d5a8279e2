/// Keyed windows that do not merge — tumbling, sliding and calendar — with an incremental aggregate.
///
/// State is one bucket per open window, each a hash table from key to accumulator: O(1) state per
/// key and window. The operator advances its watermark element by element (each element carries
/// the watermark in force before it), so a window fires, and an element is judged late, exactly as
/// if elements arrived one at a time:
///
/// - a window fires when the watermark reaches its end; its results carry the event time
///   `end - 1` and the watermark from before the firing, so a downstream window does not see them
///   as late;
/// - an element whose every window has `end + allowedLateness <= watermark` is late: it goes to the
///   late output and is counted;
/// - an element for a window that has fired but is still within its allowed lateness updates the
///   window, and the updated result is emitted at once.
///
/// The per-element loop, ``processElements(_:)``, is `@inlinable`: ``WindowedStream/aggregate(_:)``
/// passes a ``kernel`` closure formed in the user's module, where the key, element and aggregate
/// types are concrete, so the loop runs specialized rather than through generic witnesses.
@usableFromInline
final class WindowOperator<Key: Hashable & Sendable & Codable, Input: Sendable, A: Aggregation>: BatchOperator
where A.Input == Input {
    @usableFromInline typealias Output = WindowResult<Key, A.Output>
    /// Runs ``processElements(_:)`` specialized for the concrete types.
    @usableFromInline typealias Kernel = @Sendable (WindowOperator, Batch<Input>) -> Void

    @usableFromInline
    struct Bucket {
        @usableFromInline var window: Window
        @usableFromInline var table: [Key: A.Accumulator]
        @usableFromInline var fired = false

        @inlinable
        init(window: Window) {
            self.window = window
            self.table = [:]
        }
    }

    @usableFromInline let key: @Sendable (Input) -> Key
    @usableFromInline let aggregation: A
    @usableFromInline var assigner: WindowAssigner
    @usableFromInline let lateness: Int64
    let kernel: Kernel?
    let downstream: Downstream<Output>
    let lateOutput: Downstream<Input>

    @usableFromInline var buckets: [Bucket] = []
    @usableFromInline var recent = 0
    @usableFromInline var watermark = Timestamp.min
    /// The earliest watermark at which something fires or is purged.
    @usableFromInline var nextAction = Timestamp.max
    @usableFromInline var pending: Batch<Output>
    @usableFromInline var pendingLate: Batch<Input>
    /// How many elements were late.
    @usableFromInline var lateCount = 0

    init(
        key: @escaping @Sendable (Input) -> Key,
        aggregation: A,
        spec: WindowSpec,
        allowedLateness: Duration,
        kernel: Kernel?,
        downstream: Downstream<Output>,
        lateOutput: Downstream<Input>
    ) {
        self.key = key
        self.aggregation = aggregation
        self.assigner = WindowAssigner(spec: spec)
        self.lateness = allowedLateness.streamKitMicroseconds
        self.kernel = kernel
        self.downstream = downstream
        self.lateOutput = lateOutput
        self.pending = Batch(reservingCapacity: 0, withTime: true)
        self.pendingLate = Batch(reservingCapacity: 0, withTime: true)
    }

    func process(_ batch: Batch<Input>) async throws {
        if let kernel { kernel(self, batch) } else { processElements(batch) }
        try await flush()
    }

    func advance(to watermark: Timestamp) async throws {
        if watermark > self.watermark { advanceState(to: watermark) }
        try await flush()
        try await downstream.advance(to: watermark)
    }

    func markIdle() async throws {
        try await downstream.markIdle()
    }

    func finish() async throws {
        if watermark < .max { advanceState(to: .max) }
        try await flush()
        try await downstream.finish()
        try await lateOutput.finish()
    }

    // MARK: The per-element path

    /// Adds a batch's elements to their windows, firing windows as the watermark passes them.
    @inlinable
    func processElements(_ batch: Batch<Input>) {
        let single = assigner.windowsPerElement == 1
        batch.elements.withUnsafeBufferPointer { elements in
            batch.timestamps.withUnsafeBufferPointer { timestamps in
                batch.watermarks.withUnsafeBufferPointer { watermarks in
                    for index in 0..<elements.count {
                        let elementWatermark = watermarks[index]
                        if elementWatermark > watermark { advanceState(to: elementWatermark) }
                        let time = timestamps[index]
                        if single {
                            let window = assigner.window(for: time)
                            if window.end.advanced(by: lateness) <= watermark {
                                late(elements[index], time: time, watermark: elementWatermark)
                            } else {
                                add(elements[index], to: window)
                            }
                        } else {
                            addToEveryWindow(elements[index], time: time, watermark: elementWatermark)
                        }
                    }
                }
            }
        }
    }

    @inlinable
    func addToEveryWindow(_ element: Input, time: Timestamp, watermark elementWatermark: Timestamp) {
        var windows: [Window] = []
        assigner.forEachWindow(for: time) { windows.append($0) }
        var accepted = false
        for window in windows where window.end.advanced(by: lateness) > watermark {
            add(element, to: window)
            accepted = true
        }
        if !accepted { late(element, time: time, watermark: elementWatermark) }
    }

    @inlinable
    func add(_ element: Input, to window: Window) {
        let bucket = bucketIndex(for: window)
        let key = key(element)
        if let slot = buckets[bucket].table.index(forKey: key) {
            aggregation.add(element, to: &buckets[bucket].table.values[slot])
        } else {
            buckets[bucket].table[key] = aggregation.accumulator(for: element)
        }
        if buckets[bucket].fired { emitUpdate(key: key, bucket: bucket) }
    }

    @inlinable
    func bucketIndex(for window: Window) -> Int {
        if recent < buckets.count && buckets[recent].window == window { return recent }
        return findOrInsertBucket(for: window)
    }

    @usableFromInline
    func findOrInsertBucket(for window: Window) -> Int {
        var index = buckets.count
        while index > 0 {
            let candidate = buckets[index - 1].window
            if candidate == window {
                recent = index - 1
                return recent
            }
            if candidate < window { break }
            index -= 1
        }
        buckets.insert(Bucket(window: window), at: index)
        if window.end < nextAction { nextAction = window.end }
        recent = index
        return index
    }

    /// Within the allowed lateness: emits the updated result of a fired window now.
    @usableFromInline
    func emitUpdate(key: Key, bucket: Int) {
        let window = buckets[bucket].window
        let accumulator = buckets[bucket].table[key]!
        pending.append(
            WindowResult(key: key, window: window, value: aggregation.output(of: accumulator)),
            timestamp: window.maxTimestamp,
            watermark: watermark
        )
    }

    @usableFromInline
    func late(_ element: Input, time: Timestamp, watermark: Timestamp) {
        lateCount += 1
        pendingLate.append(element, timestamp: time, watermark: watermark)
    }

    /// Fires the windows that end at or before `watermark`, and drops those past their lateness.
    @inlinable
    func advanceState(to newWatermark: Timestamp) {
        let previous = watermark
        watermark = newWatermark
        if newWatermark >= nextAction { fire(upTo: newWatermark, previous: previous) }
    }

    @usableFromInline
    func fire(upTo newWatermark: Timestamp, previous: Timestamp) {
        var next = Timestamp.max
        var kept: [Bucket] = []
        kept.reserveCapacity(buckets.count)
        for var bucket in buckets {
            if !bucket.fired && bucket.window.end <= newWatermark {
                let window = bucket.window
                for (key, accumulator) in bucket.table {
                    pending.append(
                        WindowResult(key: key, window: window, value: aggregation.output(of: accumulator)),
                        timestamp: window.maxTimestamp,
                        watermark: previous
                    )
                }
                bucket.fired = true
            }
            let purgeAt = bucket.window.end.advanced(by: lateness)
            if purgeAt <= newWatermark { continue }
            next = Swift.min(next, bucket.fired ? purgeAt : bucket.window.end)
            kept.append(bucket)
        }
        buckets = kept
        recent = 0
        nextAction = next
    }

    private func flush() async throws {
        if !pending.isEmpty {
            let batch = pending
            pending = Batch(reservingCapacity: 0, withTime: true)
            try await downstream.process(batch)
        }
        if !pendingLate.isEmpty {
            let batch = pendingLate
            pendingLate = Batch(reservingCapacity: 0, withTime: true)
            try await lateOutput.process(batch)
        }
    }
}

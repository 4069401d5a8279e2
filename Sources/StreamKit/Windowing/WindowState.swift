/// The state and per-element logic of ``WindowOperator``: open windows ("buckets"), each a
/// ``KeyTable`` from key to accumulator, and the watermark.
///
/// It is a struct so that the per-element loop mutates plain local memory: as stored properties of
/// a class, every access would pay a dynamic exclusivity check. Its methods are `@inlinable` so that
/// the loop specializes in the caller's module (see ``WindowOperator``).
@usableFromInline
struct WindowState<Key: Hashable & Sendable, Input: Sendable, A: Aggregation> where A.Input == Input {
    @usableFromInline typealias Output = WindowResult<Key, A.Output>

    @usableFromInline
    struct Bucket {
        @usableFromInline var window: Window
        @usableFromInline var table: KeyTable<Key, A.Accumulator>
        @usableFromInline var fired = false

        @inlinable
        init(window: Window, capacity: Int) {
            self.window = window
            self.table = KeyTable(capacity: capacity)
        }
    }

    @usableFromInline let key: @Sendable (Input) -> Key
    @usableFromInline let aggregation: A
    @usableFromInline var assigner: WindowAssigner
    @usableFromInline let lateness: Int64

    /// The open windows, ordered by end, then start.
    @usableFromInline var buckets: [Bucket] = []
    /// The window of each bucket, kept apart so that finding a bucket does not touch its table.
    @usableFromInline var windows: [Window] = []
    /// The bucket used last: consecutive elements usually share a window.
    @usableFromInline var recent = 0
    @usableFromInline var watermark = Timestamp.min
    /// The earliest watermark at which something fires or is purged.
    @usableFromInline var nextAction = Timestamp.max
    /// Results waiting to be sent downstream.
    @usableFromInline var pending = Batch<Output>(elements: [], timestamps: [], watermarks: [])
    /// Late elements waiting to be sent to the late output.
    @usableFromInline var pendingLate = Batch<Input>(elements: [], timestamps: [], watermarks: [])
    /// How many elements were late.
    @usableFromInline var lateCount = 0

    /// Takes the results and late elements waiting to be sent, leaving none.
    mutating func takePending() -> (results: Batch<Output>, late: Batch<Input>) {
        defer {
            pending = Batch(elements: [], timestamps: [], watermarks: [])
            pendingLate = Batch(elements: [], timestamps: [], watermarks: [])
        }
        return (pending, pendingLate)
    }
    /// How many keys the last window held: new tables start that large.
    @usableFromInline var typicalKeys = 16
    /// The table of no window, which the loop of ``addOneWindowEach(_:timestamps:watermarks:key:aggregation:)``
    /// holds before its first window (made once, not per batch); nothing is ever added to it.
    @usableFromInline let placeholderTable = KeyTable<Key, A.Accumulator>(capacity: 0)

    init(key: @escaping @Sendable (Input) -> Key, aggregation: A, spec: WindowSpec, lateness: Int64) {
        self.key = key
        self.aggregation = aggregation
        self.assigner = WindowAssigner(spec: spec)
        self.lateness = lateness
    }

    /// Adds a batch's elements to their windows, firing windows as the watermark passes them.
    @inlinable
    mutating func process(_ batch: Batch<Input>) {
        // Local copies: calling the closures through `self` would retain and release them per element.
        let key = self.key
        let aggregation = self.aggregation
        if assigner.windowsPerElement != 1 {
            for index in 0..<batch.count {
                let elementWatermark = batch.watermarks[index]
                if elementWatermark > watermark { advance(to: elementWatermark) }
                addToEveryWindow(batch.elements[index], time: batch.timestamps[index], watermark: elementWatermark)
            }
            return
        }
        batch.elements.withUnsafeBufferPointer { elements in
            batch.timestamps.withUnsafeBufferPointer { timestamps in
                batch.watermarks.withUnsafeBufferPointer { watermarks in
                    addOneWindowEach(
                        elements,
                        timestamps: timestamps,
                        watermarks: watermarks,
                        key: key,
                        aggregation: aggregation
                    )
                }
            }
        }
    }

    /// The loop of ``process(_:)`` for tumbling and calendar windows, where each element falls in
    /// one window. Its state is local, not captured by the closures that lend it the batch's
    /// buffers, so that calls on the key tables need not retain them.
    @inlinable
    mutating func addOneWindowEach(
        _ elements: UnsafeBufferPointer<Input>,
        timestamps: UnsafeBufferPointer<Timestamp>,
        watermarks: UnsafeBufferPointer<Timestamp>,
        key: (Input) -> Key,
        aggregation: A
    ) {
        // The window in use and its table, and the one used before it while neither has fired
        // (elements near a window boundary alternate between the two); the window of the previous
        // element and the watermark at which it turns late. No element falls in the placeholder
        // window `[max, max)`.
        let none = Window(start: .max, end: .max)
        var table = placeholderTable
        var activeWindow = none
        var activeFired = false
        var otherTable = table
        var otherWindow = none
        var lastWindow = none
        var lastDeadline = Timestamp.min
        var index = 0
        while index < elements.count {
            // The general path, for one element.
            let elementWatermark = watermarks[index]
            if elementWatermark > watermark {
                if elementWatermark >= nextAction {
                    // Windows fire or close: look them up again.
                    activeWindow = none
                    otherWindow = none
                }
                advance(to: elementWatermark)
            }
            let time = timestamps[index]
            if !lastWindow.contains(time) {
                lastWindow = assigner.window(for: time)
                lastDeadline = lastWindow.end.advanced(by: lateness)
            }
            if lastDeadline <= watermark {
                late(elements[index], time: time, watermark: elementWatermark)
                index += 1
                continue
            }
            if lastWindow != activeWindow {
                if activeFired {
                    otherWindow = none
                } else {
                    otherTable = table
                    otherWindow = activeWindow
                }
                let active = findOrInsertBucket(for: lastWindow)
                table = buckets[active].table
                activeWindow = lastWindow
                activeFired = buckets[active].fired
            }
            let element = elements[index]
            let slot = table.accumulate(element, key: key(element), with: aggregation)
            index += 1
            if activeFired {
                emitUpdate(window: activeWindow, table: table, slot: slot)
                continue
            }
            // The common case, in a tighter loop: the elements that follow, up to the next firing,
            // in this window or the one before. Neither has fired, so no element is late (its
            // deadline is at or after the window's end, and so at or after the next firing) and
            // none needs an update emitted. Each is added with one probe and one update through
            // the table's pointers; nothing else changes but the watermark, which moves up to each
            // element's.
            var current = watermark
            let limit = nextAction
            while index < elements.count {
                let elementWatermark = watermarks[index]
                if elementWatermark >= limit { break }
                let time = timestamps[index]
                if !activeWindow.contains(time) {
                    guard otherWindow.contains(time) else { break }
                    swap(&table, &otherTable)
                    swap(&activeWindow, &otherWindow)
                }
                if elementWatermark > current { current = elementWatermark }
                let element = elements[index]
                table.accumulate(element, key: key(element), with: aggregation)
                index &+= 1
            }
            watermark = current
        }
    }

    @inlinable
    mutating func addToEveryWindow(_ element: Input, time: Timestamp, watermark elementWatermark: Timestamp) {
        var windows: [Window] = []
        assigner.forEachWindow(for: time) { windows.append($0) }
        var accepted = false
        for window in windows where window.end.advanced(by: lateness) > watermark {
            add(element, to: window, key: key, aggregation: aggregation)
            accepted = true
        }
        if !accepted { late(element, time: time, watermark: elementWatermark) }
    }

    @inlinable
    mutating func add(_ element: Input, to window: Window, key: (Input) -> Key, aggregation: A) {
        let bucket: Int
        if recent < windows.count && windows[recent] == window {
            bucket = recent
        } else {
            bucket = findOrInsertBucket(for: window)
        }
        let table = buckets[bucket].table
        let slot = table.accumulate(element, key: key(element), with: aggregation)
        if buckets[bucket].fired { emitUpdate(window: window, table: table, slot: slot) }
    }

    @usableFromInline
    mutating func findOrInsertBucket(for window: Window) -> Int {
        var index = windows.count
        while index > 0 {
            let candidate = windows[index - 1]
            if candidate == window {
                recent = index - 1
                return recent
            }
            if candidate < window { break }
            index -= 1
        }
        buckets.insert(Bucket(window: window, capacity: typicalKeys), at: index)
        windows.insert(window, at: index)
        if window.end < nextAction { nextAction = window.end }
        recent = index
        return index
    }

    /// Within the allowed lateness: emits the updated result of a fired window now.
    @inlinable
    mutating func emitUpdate(window: Window, table: KeyTable<Key, A.Accumulator>, slot: Int) {
        pending.append(
            WindowResult(key: table.keys[slot], window: window, value: aggregation.output(of: table.values[slot])),
            timestamp: window.maxTimestamp,
            watermark: watermark
        )
    }

    @inlinable
    mutating func late(_ element: Input, time: Timestamp, watermark: Timestamp) {
        lateCount += 1
        pendingLate.append(element, timestamp: time, watermark: watermark)
    }

    /// Moves the watermark; fires the windows that end at or before it, and drops those past their
    /// lateness.
    @inlinable
    mutating func advance(to newWatermark: Timestamp) {
        let previous = watermark
        watermark = newWatermark
        if newWatermark >= nextAction { fire(upTo: newWatermark, previous: previous) }
    }

    /// Recomputes when something next fires or is purged, after a restore.
    mutating func recomputeNextAction() {
        nextAction = buckets.map { $0.fired ? $0.window.end.advanced(by: lateness) : $0.window.end }.min() ?? .max
    }

    // Inlinable, like `process`: specialised in the caller's module it makes each window result
    // without looking up generic metadata (about 5% of the canonical benchmark otherwise).
    @inlinable
    mutating func fire(upTo newWatermark: Timestamp, previous: Timestamp) {
        var next = Timestamp.max
        var kept: [Bucket] = []
        kept.reserveCapacity(buckets.count)
        for var bucket in buckets {
            if !bucket.fired && bucket.window.end <= newWatermark {
                let window = bucket.window
                let table = bucket.table
                pending.elements.reserveCapacity(pending.count + table.count)
                for slot in 0..<table.count {
                    pending.append(
                        WindowResult(
                            key: table.keys[slot],
                            window: window,
                            value: aggregation.output(of: table.values[slot])
                        ),
                        timestamp: window.maxTimestamp,
                        watermark: previous
                    )
                }
                typicalKeys = Swift.max(16, table.count)
                bucket.fired = true
            }
            let purgeAt = bucket.window.end.advanced(by: lateness)
            if purgeAt <= newWatermark { continue }
            next = Swift.min(next, bucket.fired ? purgeAt : bucket.window.end)
            kept.append(bucket)
        }
        buckets = kept
        windows = kept.map(\.window)
        recent = 0
        nextAction = next
    }
}

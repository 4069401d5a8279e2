import StreamKit

/// Hand-written equivalents of the engine's keyed one-minute window with `Count()` and `Mean`: the
/// baselines the engine is measured against.
///
/// Both loops follow the engine's rule exactly: the watermark in force before an element is the
/// highest event time of the elements before it minus the bound; a window `[start, end)` fires when
/// the watermark reaches `end`; an element is late when its window's end is at or before the
/// watermark. Each window result goes into a ``Tally`` through
/// ``Tally/windowFingerprint(sensor:windowStart:count:mean:)``, as the engine's do through a ``TallySink``.
enum WindowLoops {
    /// What a loop produced: the tally of its window results, and how many readings were on time and
    /// late.
    struct Output {
        /// The window results.
        var tally = Tally()
        /// The readings counted in a window.
        var onTime = 0
        /// The readings dropped as late.
        var late = 0

        /// Emits the result of one sensor's window.
        @inline(__always)
        mutating func emit(sensor: Int, windowStart: Int64, count: Int, sum: Double) {
            tally.add(
                Tally.windowFingerprint(
                    sensor: sensor,
                    windowStart: windowStart,
                    count: count,
                    mean: sum / Double(count)
                )
            )
            onTime &+= count
        }
    }

    /// The start of the tumbling window of size `size` that holds `time`.
    @inline(__always)
    static func windowStart(of time: Int64, size: Int64) -> Int64 {
        let quotient = time / size
        return (time % size != 0 && time < 0 ? quotient - 1 : quotient) * size
    }

    /// The watermark after elements whose highest event time is `highest`, with bound `bound`.
    @inline(__always)
    static func watermark(highest: Int64, bound: Int64) -> Int64 {
        highest == .min ? .min : highest - bound
    }

    // MARK: Plain Dictionary

    /// The key of one sensor's window in ``dictionary(_:)``.
    struct WindowKey: Hashable {
        /// The sensor.
        var sensor: Int
        /// The start of the window, in microseconds.
        var windowStart: Int64
    }

    /// The running count and sum of one sensor's window in ``dictionary(_:)``.
    struct Accumulator {
        /// The readings so far.
        var count = 0
        /// Their sum so far, added in arrival order as `Mean` does.
        var sum = 0.0
    }

    /// The loop anyone would write first: one `Dictionary` from (sensor, window start) to the
    /// running count and sum. When the watermark passes the earliest open window's end, every entry
    /// whose window has ended is emitted, and the dictionary is filtered down to the others.
    static func dictionary(_ events: [Event]) -> Output {
        let size = Workload.windowSize
        let bound = Workload.watermarkBound
        var output = Output()
        var open: [WindowKey: Accumulator] = [:]
        var highest = Int64.min
        var earliestEnd = Int64.max
        for event in events {
            let time = event.time.microseconds
            let watermark = watermark(highest: highest, bound: bound)
            if watermark >= earliestEnd {
                earliestEnd = fire(&open, upTo: watermark, size: size, into: &output)
            }
            let start = windowStart(of: time, size: size)
            if start + size <= watermark {
                output.late += 1
            } else {
                open[WindowKey(sensor: event.sensor, windowStart: start), default: Accumulator()].add(event.value)
                earliestEnd = min(earliestEnd, start + size)
            }
            highest = max(highest, time)
        }
        fire(&open, upTo: .max, size: size, into: &output)
        return output
    }

    /// Emits and removes the windows of `open` that end at or before `watermark`; returns the
    /// earliest end of those left.
    @discardableResult
    private static func fire(
        _ open: inout [WindowKey: Accumulator],
        upTo watermark: Int64,
        size: Int64,
        into output: inout Output
    ) -> Int64 {
        var earliestEnd = Int64.max
        for (key, accumulator) in open {
            let end = key.windowStart + size
            if end <= watermark {
                output.emit(
                    sensor: key.sensor,
                    windowStart: key.windowStart,
                    count: accumulator.count,
                    sum: accumulator.sum
                )
            } else {
                earliestEnd = min(earliestEnd, end)
            }
        }
        open = open.filter { $0.key.windowStart + size > watermark }
        return earliestEnd
    }

    // MARK: Open addressing

    /// The fastest loop we could write: with `integerHash` false it knows nothing of the keys but
    /// `Hashable` (keys hash with `Hasher`); with `integerHash` true it hashes the integer sensor ids
    /// with one Fibonacci multiplication, as StreamKit's own key tables do.
    ///
    /// The open windows (one or two at a time here) are a short array sorted by start, and the
    /// window of the previous element is tried first. Each is a ``WindowTable``: an open-addressing
    /// hash table from key to a slot in dense count and sum arrays, in manually managed memory so
    /// that the hot path has no uniqueness, bounds or exclusivity checks and no reference counting.
    /// A window is emitted and dropped when the watermark passes its end.
    static func openAddressing(_ events: [Event], integerHash: Bool = false) -> Output {
        let size = Workload.windowSize
        let bound = Workload.watermarkBound
        var output = Output()
        var windows: [WindowTable<Int>] = []
        // The window of the previous element; an empty table that matches no window at first.
        var current = WindowTable<Int>(start: .min, integerHash: integerHash)
        var earliestEnd = Int64.max
        var highest = Int64.min
        for event in events {
            let time = event.time.microseconds
            let watermark = watermark(highest: highest, bound: bound)
            if watermark >= earliestEnd {
                fire(&windows, upTo: watermark, size: size, into: &output)
                earliestEnd = windows.first.map { $0.start + size } ?? .max
                current = WindowTable(start: .min, integerHash: integerHash)
            }
            let start = windowStart(of: time, size: size)
            if start + size <= watermark {
                output.late += 1
            } else {
                if current.start != start {
                    current = window(startingAt: start, in: &windows, integerHash: integerHash)
                    earliestEnd = windows[0].start + size
                }
                current.add(event.value, for: event.sensor)
            }
            highest = max(highest, time)
        }
        fire(&windows, upTo: .max, size: size, into: &output)
        return output
    }

    /// The open window that starts at `start`, added to `windows` if there is none.
    private static func window(
        startingAt start: Int64,
        in windows: inout [WindowTable<Int>],
        integerHash: Bool
    ) -> WindowTable<Int> {
        let index = windows.firstIndex { $0.start >= start } ?? windows.count
        if index < windows.count && windows[index].start == start { return windows[index] }
        let window = WindowTable<Int>(start: start, integerHash: integerHash)
        windows.insert(window, at: index)
        return window
    }

    /// Emits and removes the windows that end at or before `watermark`.
    private static func fire(
        _ windows: inout [WindowTable<Int>],
        upTo watermark: Int64,
        size: Int64,
        into output: inout Output
    ) {
        var fired = 0
        while fired < windows.count && windows[fired].start + size <= watermark {
            let start = windows[fired].start
            windows[fired].forEach { sensor, count, sum in
                output.emit(sensor: sensor, windowStart: start, count: count, sum: sum)
            }
            fired += 1
        }
        windows.removeFirst(fired)
    }
}

extension WindowLoops.Accumulator {
    /// Adds a reading.
    @inline(__always)
    mutating func add(_ value: Double) {
        count &+= 1
        sum += value
    }
}

/// One open window of ``WindowLoops/openAddressing(_:)``: an open-addressing hash table (linear
/// probing, at most half full) from key to a slot in dense arrays of keys, counts and sums.
///
/// The storage is managed by hand, so that adding a reading costs one hash, a probe or two and two
/// stores, with no uniqueness or bounds checks.
final class WindowTable<Key: Hashable> {
    /// The start of the window, in microseconds.
    let start: Int64
    /// Whether integer keys hash by multiplication rather than with `Hasher`.
    let integerHash: Bool
    /// How many keys the table holds.
    private(set) var count = 0
    /// How many keys the dense arrays have room for; the buckets are twice as many.
    private var capacity: Int
    /// The bucket count minus one (a power of two minus one).
    private var mask: Int
    /// For each bucket, the slot of its key plus one, or 0 when empty.
    private var buckets: UnsafeMutablePointer<Int32>
    /// The keys, in order of first arrival; the first `count` are initialized.
    private var keys: UnsafeMutablePointer<Key>
    /// The count of each key.
    private var counts: UnsafeMutablePointer<Int>
    /// The sum of each key's values, in arrival order.
    private var sums: UnsafeMutablePointer<Double>

    /// Creates an empty table for the window starting at `start`.
    init(start: Int64, integerHash: Bool, capacity: Int = 8) {
        self.start = start
        self.integerHash = integerHash
        self.capacity = capacity
        mask = capacity * 2 - 1
        buckets = .allocate(capacity: capacity * 2)
        buckets.initialize(repeating: 0, count: capacity * 2)
        keys = .allocate(capacity: capacity)
        counts = .allocate(capacity: capacity)
        sums = .allocate(capacity: capacity)
    }

    deinit {
        keys.deinitialize(count: count)
        buckets.deallocate()
        keys.deallocate()
        counts.deallocate()
        sums.deallocate()
    }

    /// Adds `value` to `key`'s count and sum.
    @inline(__always)
    func add(_ value: Double, for key: Key) {
        var bucket = hash(key) & mask
        while true {
            let slot = Int(buckets[bucket]) &- 1
            if slot < 0 { break }
            if keys[slot] == key {
                counts[slot] &+= 1
                sums[slot] += value
                return
            }
            bucket = (bucket &+ 1) & mask
        }
        insert(key, value: value, bucket: bucket)
    }

    /// The key's hash, its well-mixed bits at the bottom where the mask takes them.
    @inline(__always)
    private func hash(_ key: Key) -> Int {
        if integerHash, let integer = key as? Int {
            let product = UInt64(bitPattern: Int64(integer)) &* 0x9E37_79B9_7F4A_7C15
            return Int(truncatingIfNeeded: product >> 32)
        }
        return key.hashValue
    }

    /// Calls `body` with each key, its count and its sum.
    func forEach(_ body: (Key, Int, Double) -> Void) {
        for slot in 0..<count { body(keys[slot], counts[slot], sums[slot]) }
    }

    /// Adds a new key in the empty bucket `bucket`.
    private func insert(_ key: Key, value: Double, bucket: Int) {
        if count == capacity {
            grow()
            place(slot: count, hash: hash(key))
        } else {
            buckets[bucket] = Int32(count + 1)
        }
        (keys + count).initialize(to: key)
        counts[count] = 1
        sums[count] = value
        count += 1
    }

    /// Doubles the room for keys and the buckets, and puts every key back in a bucket.
    private func grow() {
        capacity *= 2
        keys = Self.move(keys, count: count, to: capacity)
        counts = Self.move(counts, count: count, to: capacity)
        sums = Self.move(sums, count: count, to: capacity)
        buckets.deallocate()
        mask = capacity * 2 - 1
        buckets = .allocate(capacity: capacity * 2)
        buckets.initialize(repeating: 0, count: capacity * 2)
        for slot in 0..<count { place(slot: slot, hash: hash(keys[slot])) }
    }

    /// Points the first empty bucket from `hash` at `slot`.
    private func place(slot: Int, hash: Int) {
        var bucket = hash & mask
        while buckets[bucket] != 0 { bucket = (bucket &+ 1) & mask }
        buckets[bucket] = Int32(slot + 1)
    }

    /// Moves the first `count` elements of `old` to new memory with room for `capacity`.
    private static func move<T>(
        _ old: UnsafeMutablePointer<T>,
        count: Int,
        to capacity: Int
    ) -> UnsafeMutablePointer<T> {
        let new = UnsafeMutablePointer<T>.allocate(capacity: capacity)
        new.moveInitialize(from: old, count: count)
        old.deallocate()
        return new
    }
}

import StreamKit

/// Hand-written equivalents of the engine's keyed one-minute window with `Count()` and `Mean`: the
/// baselines the engine is measured against.
///
/// Both loops follow the engine's rule exactly: the watermark in force before an element is the
/// highest event time of the elements before it minus the bound; a window `[start, end)` fires when
/// the watermark reaches `end`; an element is late when its window's end is at or before the
/// watermark. Each window result goes into a ``Tally`` with ``Tally/windowFingerprint(sensor:windowStart:count:mean:)``,
/// where the engine's results go through a ``TallySink``.
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

    /// The start of the window of `time`.
    @inline(__always)
    static func windowStart(of time: Int64) -> Int64 {
        let size = Workload.windowSize
        let quotient = time / size
        return (time % size != 0 && time < 0 ? quotient - 1 : quotient) * size
    }

    /// The watermark after the elements whose highest event time is `highest`.
    @inline(__always)
    static func watermark(highest: Int64) -> Int64 {
        highest == .min ? .min : highest - Workload.watermarkBound
    }

    // MARK: Plain Dictionary

    /// The key of one sensor's window in ``dictionary(_:)``.
    struct WindowKey: Hashable {
        /// The sensor.
        var sensor: Int
        /// The start of the window, in microseconds.
        var windowStart: Int64
    }

    /// The running count and sum of one sensor's window.
    struct Accumulator {
        /// The readings so far.
        var count = 0
        /// Their sum so far, added in arrival order as `Mean` does.
        var sum = 0.0
    }

    /// The loop anyone would write first: one `Dictionary` from (sensor, window start) to the
    /// running count and sum; when the watermark passes the earliest open window's end, every entry
    /// whose window has ended is emitted and removed.
    static func dictionary(_ events: [Event]) -> Output {
        var output = Output()
        var open: [WindowKey: Accumulator] = [:]
        var highest = Int64.min
        var earliestEnd = Int64.max
        let size = Workload.windowSize

        func fire(upTo watermark: Int64) {
            var nextEnd = Int64.max
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
                    nextEnd = min(nextEnd, end)
                }
            }
            open = open.filter { $0.key.windowStart + size > watermark }
            earliestEnd = nextEnd
        }

        for event in events {
            let time = event.time.microseconds
            let watermark = watermark(highest: highest)
            if watermark >= earliestEnd { fire(upTo: watermark) }
            let start = windowStart(of: time)
            if start + size <= watermark {
                output.late += 1
            } else {
                open[WindowKey(sensor: event.sensor, windowStart: start), default: Accumulator()].add(event.value)
                earliestEnd = min(earliestEnd, start + size)
            }
            highest = max(highest, time)
        }
        fire(upTo: .max)
        return output
    }

    // MARK: Open addressing

    /// The fastest loop we could write without knowing anything about the keys but `Hashable`: the
    /// open windows are a short array sorted by start (one or two at a time here), the last one used
    /// is tried first, and each holds a ``WindowTable``: an open-addressing hash table from key to a
    /// slot in dense count and sum arrays. A window's result is emitted, and its table dropped, when
    /// the watermark passes its end. Sensor ids are hashed like any other key: the loop does not use
    /// the fact that they are small integers.
    static func openAddressing(_ events: [Event]) -> Output {
        var output = Output()
        var windows: [OpenWindow<Int>] = []
        var recent = 0
        var highest = Int64.min
        let size = Workload.windowSize

        func fire(upTo watermark: Int64) {
            var fired = 0
            while fired < windows.count && windows[fired].start + size <= watermark {
                windows[fired].table.forEach { sensor, count, sum in
                    output.emit(sensor: sensor, windowStart: windows[fired].start, count: count, sum: sum)
                }
                fired += 1
            }
            windows.removeFirst(fired)
            recent = 0
        }

        events.withUnsafeBufferPointer { events in
            for event in events {
                let time = event.time.microseconds
                let watermark = watermark(highest: highest)
                if let first = windows.first, first.start + size <= watermark { fire(upTo: watermark) }
                let start = windowStart(of: time)
                if start + size <= watermark {
                    output.late += 1
                } else {
                    if recent >= windows.count || windows[recent].start != start {
                        recent = windows.firstIndex { $0.start >= start } ?? windows.count
                        if recent == windows.count || windows[recent].start != start {
                            windows.insert(OpenWindow(start: start), at: recent)
                        }
                    }
                    windows[recent].table.add(event.value, for: event.sensor)
                }
                highest = max(highest, time)
            }
        }
        fire(upTo: .max)
        return output
    }

    /// One open window of ``openAddressing(_:)``.
    struct OpenWindow<Key: Hashable> {
        /// The start of the window, in microseconds.
        let start: Int64
        /// The running count and sum of each key.
        var table = WindowTable<Key>()
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

/// An open-addressing hash table (linear probing, at most half full) from key to a slot in dense
/// arrays of keys, counts and sums: the state of one window in ``WindowLoops/openAddressing(_:)``.
struct WindowTable<Key: Hashable> {
    /// For each bucket, the slot of its key plus one, or 0 when empty; the count is a power of two.
    private var buckets: [Int32] = Array(repeating: 0, count: 16)
    /// The keys, in order of first arrival.
    private var keys: [Key] = []
    /// The count of each key.
    private var counts: [Int] = []
    /// The sum of each key's values, in arrival order.
    private var sums: [Double] = []

    /// Adds `value` to `key`'s count and sum.
    @inline(__always)
    mutating func add(_ value: Double, for key: Key) {
        let mask = buckets.count - 1
        var bucket = key.hashValue & mask
        while true {
            let slot = Int(buckets[bucket]) - 1
            if slot < 0 { break }
            if keys[slot] == key {
                counts[slot] &+= 1
                sums[slot] += value
                return
            }
            bucket = (bucket + 1) & mask
        }
        buckets[bucket] = Int32(keys.count + 1)
        keys.append(key)
        counts.append(1)
        sums.append(value)
        if keys.count * 2 > buckets.count { grow() }
    }

    /// Calls `body` with each key, its count and its sum.
    func forEach(_ body: (Key, Int, Double) -> Void) {
        for slot in keys.indices { body(keys[slot], counts[slot], sums[slot]) }
    }

    /// Doubles the buckets and puts every key back.
    private mutating func grow() {
        buckets = Array(repeating: 0, count: buckets.count * 2)
        let mask = buckets.count - 1
        for slot in keys.indices {
            var bucket = keys[slot].hashValue & mask
            while buckets[bucket] != 0 { bucket = (bucket + 1) & mask }
            buckets[bucket] = Int32(slot + 1)
        }
    }
}

import StreamKit

/// One sensor reading: the element type of every benchmark in this suite.
struct Event: Sendable {
    /// The sensor that sent the reading, in `0..<Workload.sensorCount`.
    var sensor: Int
    /// When the reading was taken (event time).
    var time: Timestamp
    /// The reading, in degrees Celsius.
    var value: Double
}

/// SplitMix64: a small, fast generator with a seed, so that the workload is the same on every run,
/// machine and toolchain (unlike `SystemRandomNumberGenerator` or the standard library's
/// `random(in:using:)`, whose algorithm may change).
struct SplitMix64 {
    private var state: UInt64

    /// Creates a generator whose sequence is fixed by `seed`.
    init(seed: UInt64) {
        state = seed
    }

    /// The next 64 random bits.
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(state)
    }

    /// A random integer in `0..<bound` (the modulo bias is negligible for small bounds).
    mutating func next(below bound: Int) -> Int {
        Int(next() % UInt64(bound))
    }

    /// The SplitMix64 finalizer: a bijection of 64 bits that spreads every input bit over the output.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The canonical workload: 10 million sensor readings, generated once per process.
///
/// Event `i` is taken at `start + i` ms, so each of the 1000 sensors sends about one reading a
/// second. Every reading arrives up to 5 s out of order (a random 0..<5 s is subtracted from its
/// time), and one in a thousand is 2 minutes late. The windowed benchmarks count and average the
/// readings per sensor in one-minute tumbling windows, with a watermark 5 s behind the highest event
/// time seen and no allowed lateness: the disorder is always on time, the 2-minute stragglers are
/// always late.
enum Workload {
    /// How many readings there are.
    static let eventCount = 10_000_000
    /// How many sensors send them.
    static let sensorCount = 1000
    /// The event time of the first reading, in microseconds: 2023-11-14T22:13:20Z.
    static let start: Int64 = 1_700_000_000 * 1_000_000
    /// How far apart consecutive readings are taken, in microseconds.
    static let spacing: Int64 = 1000
    /// The largest disorder of a reading (exclusive), in microseconds.
    static let disorder: Int64 = 5_000_000
    /// How much earlier a late reading's event time is, in microseconds.
    static let lateShift: Int64 = 120_000_000
    /// One reading in `lateOneIn` is late.
    static let lateOneIn = 1000
    /// The watermark's bound: how far behind the highest event time seen it stays, in microseconds.
    static let watermarkBound: Int64 = 5_000_000
    /// The size of the tumbling windows, in microseconds.
    static let windowSize: Int64 = 60_000_000

    /// The readings, made on first use; the benchmarks touch them in their setup, outside timing.
    static let events: [Event] = makeEvents(seed: 0x5EED_5EED)

    /// The readings dealt to two halves in runs of 4096 (one batch), each in input order. Made on
    /// first use, outside timing.
    static let halves: [[Event]] = {
        var halves: [[Event]] = [[], []]
        for half in 0..<2 { halves[half].reserveCapacity(eventCount / 2 + 4096) }
        for run in stride(from: 0, to: eventCount, by: 4096) {
            halves[run / 4096 % 2].append(contentsOf: events[run..<min(run + 4096, eventCount)])
        }
        return halves
    }()

    /// What two pipelines, one per half, must produce together: the Dictionary loop over each half.
    static let halvesReference: Tally = WindowLoops.dictionary(halves[0]).tally.combined(
        with: WindowLoops.dictionary(halves[1]).tally
    )

    /// What the windowed benchmarks must produce, computed once by the plain Dictionary loop.
    static let windowReference: Tally = {
        let reference = WindowLoops.dictionary(events)
        print(
            "Window reference: \(reference.tally.count) window results, \(reference.onTime) readings on time, "
                + "\(reference.late) late, fingerprint \(String(reference.tally.fingerprint, radix: 16))"
        )
        return reference.tally
    }()

    /// What the stateless chain benchmarks must produce, computed once by the plain loop.
    static let chainReference: Tally = {
        let reference = ChainLoop.run(events)
        print(
            "Chain reference: \(reference.count) of \(eventCount) readings kept, "
                + "fingerprint \(String(reference.fingerprint, radix: 16))"
        )
        return reference
    }()

    /// Generates the readings from `seed`.
    static func makeEvents(seed: UInt64) -> [Event] {
        var random = SplitMix64(seed: seed)
        var events: [Event] = []
        events.reserveCapacity(eventCount)
        for index in 0..<eventCount {
            let sensor = random.next(below: sensorCount)
            var time = start + Int64(index) * spacing - Int64(random.next(below: Int(disorder)))
            if random.next(below: lateOneIn) == 0 { time -= lateShift }
            // A multiple of 1/1024 between 10 and 30: the sums of a window are exact, so its mean
            // does not depend on the order in which readings are added or partial sums merged.
            let value = 10 + Double(random.next(below: 20 * 1024)) / 1024
            events.append(Event(sensor: sensor, time: Timestamp(microseconds: time), value: value))
        }
        return events
    }
}

/// What a benchmark produced, in a form that does not depend on the order of its output: how many
/// elements, and the wrapping sum of a fingerprint of each.
struct Tally: Equatable, Sendable {
    /// How many elements.
    var count = 0
    /// The wrapping sum of the elements' fingerprints.
    var fingerprint: UInt64 = 0

    /// The tally of this one's elements and `other`'s together.
    func combined(with other: Tally) -> Tally {
        Tally(count: count + other.count, fingerprint: fingerprint &+ other.fingerprint)
    }

    /// Adds an element with fingerprint `fingerprint`.
    @inline(__always)
    mutating func add(_ fingerprint: UInt64) {
        count &+= 1
        self.fingerprint &+= fingerprint
    }

    /// The fingerprint of one window result: its key, its window, its count and the exact bits of
    /// its mean, so that two implementations agree only if every result is bit for bit the same.
    @inline(__always)
    static func windowFingerprint(sensor: Int, windowStart: Int64, count: Int, mean: Double) -> UInt64 {
        var value = UInt64(bitPattern: Int64(sensor)) &* 0x9E37_79B9_7F4A_7C15
        value ^= UInt64(bitPattern: windowStart) &* 0xC2B2_AE3D_27D4_EB4F
        value ^= UInt64(bitPattern: Int64(count)) &* 0x1656_67B1_9E37_79F9
        return SplitMix64.mix(value ^ mean.bitPattern)
    }
}

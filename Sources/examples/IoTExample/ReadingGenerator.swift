import StreamKit

/// Readings the way the challenge's generator publishes them: one JSON message per sensor per
/// interval, `{"id": "Sensor 1", "dt": "2024-01-01T13:45:12.123456", "value": 21}`, with chosen
/// shares of out-of-order, late and malformed messages.
///
/// The sequence paces itself: each round of readings is due one interval (divided by ``speed``)
/// after the previous one. Event time starts at ``start`` and advances one interval per round, so
/// with a speed of 60 a minute of event time passes every second, which lets a demonstration or a
/// test see windows close quickly. The same seed gives the same messages.
public struct ReadingGenerator: AsyncSequence, Sendable {
    /// The element: one message payload.
    public typealias Element = [UInt8]

    /// The sensors and their ranges.
    public var catalog: SensorCatalog
    /// Event time between two readings of one sensor.
    public var interval: Duration = .seconds(1)
    /// How much faster than the wall clock event time runs.
    public var speed: Double = 1
    /// The event time of the first round; `nil` for now.
    public var start: Timestamp?
    /// The share of readings that arrive out of order (up to 4 s, inside a 5 s watermark bound).
    public var outOfOrderShare: Double = 0.02
    /// The share of readings that arrive 90 s late, after their minute has closed.
    public var lateShare: Double = 0.002
    /// The share of messages that are malformed.
    public var malformedShare: Double = 0.001
    /// How many rounds to publish; `nil` for no end.
    public var rounds: Int?
    /// The seed of the random values.
    public var seed: UInt64 = 2024

    /// Creates a generator for the sensors of `catalog`.
    public init(catalog: SensorCatalog) {
        self.catalog = catalog
    }

    /// Starts generating.
    public func makeAsyncIterator() -> Iterator {
        Iterator(generator: self)
    }

    /// Produces the messages round by round, sleeping until each round is due.
    public struct Iterator: AsyncIteratorProtocol {
        let generator: ReadingGenerator
        let sensors: [(id: String, range: ClosedRange<Double>)]
        var random: SplitMix
        var pending: [[UInt8]] = []
        var round = 0
        let firstTime: Timestamp
        let clockStart = ContinuousClock.now

        init(generator: ReadingGenerator) {
            self.generator = generator
            self.sensors = generator.catalog.ids.map { ($0, generator.catalog.sensors[$0]?.validRange ?? 0...45) }
            self.random = SplitMix(seed: generator.seed)
            self.firstTime = generator.start ?? .now
        }

        /// The next message, once its round is due.
        public mutating func next() async throws -> [UInt8]? {
            if pending.isEmpty {
                if let rounds = generator.rounds, round >= rounds { return nil }
                let due = clockStart + generator.interval * (Double(round) / generator.speed)
                try await Task.sleep(until: due, clock: .continuous)
                pending = makeRound().reversed()
                round += 1
            }
            return pending.popLast()
        }

        mutating func makeRound() -> [[UInt8]] {
            let roundTime = firstTime + Duration.microseconds(Int64(round) * generator.interval.microsecondsCount)
            var messages: [[UInt8]] = []
            messages.reserveCapacity(sensors.count)
            for sensor in sensors {
                var time = roundTime + .microseconds(Int64(random.unit() * 900_000))
                let draw = random.unit()
                if draw < generator.lateShare {
                    time = time - .seconds(90)
                } else if draw < generator.lateShare + generator.outOfOrderShare {
                    time = time - .seconds(Int64(1 + random.next() % 4))
                }
                if random.unit() < generator.malformedShare {
                    messages.append(Array(malformed(sensor.id, time).utf8))
                    continue
                }
                let span = sensor.range.upperBound - sensor.range.lowerBound
                let value = Int((sensor.range.lowerBound + random.unit() * span).rounded())
                let dt = time.iso8601.dropLast()  // the challenge's format: UTC without an offset
                messages.append(Array(#"{"id": "\#(sensor.id)", "dt": "\#(dt)", "value": \#(value)}"#.utf8))
            }
            return messages
        }

        mutating func malformed(_ id: String, _ time: Timestamp) -> String {
            switch random.next() % 3 {
            case 0: return #"{"id": "\#(id)", "dt": "not a time", "value": 1}"#
            case 1: return #"{"id": "\#(id)", "value": "#
            default: return "sensor \(id) offline"
            }
        }
    }
}

/// A small deterministic random number generator (SplitMix64).
struct SplitMix: Sendable {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in 0..<1.
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}

extension Duration {
    /// The duration in whole microseconds.
    var microsecondsCount: Int64 {
        components.seconds * 1_000_000 + components.attoseconds / 1_000_000_000_000
    }
}

import Foundation
import StreamKit

/// One reading as the IoT sensors publish it: `{"id":"Sensor 1","dt":"2024-01-01T00:00:00.123456","value":42}`.
struct Reading: Codable, Sendable {
    var id: String
    var dt: Timestamp
    var value: Int
}

/// SplitMix64: a small generator with a seed, so that the payloads are the same on every run.
struct SplitMix64 {
    private var state: UInt64

    /// Creates a generator whose sequence is fixed by `seed`.
    init(seed: UInt64) {
        state = seed
    }

    /// The next 64 random bits.
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A random integer in `0..<bound`.
    mutating func next(below bound: Int) -> Int {
        Int(next() % UInt64(bound))
    }
}

/// The payloads of the MQTT benchmarks, generated deterministically.
///
/// Reading `i` comes from sensor `i % 1000`, is taken at `start + i` ms minus a random disorder of
/// under 4 s (so that a 5 s watermark bound keeps every reading on time), and has an integer
/// value in -20...40. Times are written as the sensors write them: ISO 8601 with microseconds and
/// no offset.
enum IoTReadings {
    /// How many sensors send readings.
    static let sensorCount = 1000
    /// The event time of the first reading: 2024-01-01T00:00:00Z.
    static let start = Timestamp(seconds: 1_704_067_200)

    /// The JSON payloads of `count` readings.
    static func payloads(count: Int, seed: UInt64 = 0x10_7E5_1A7E) -> [[UInt8]] {
        var random = SplitMix64(seed: seed)
        return (0..<count).map { index in
            let disorder = Int64(random.next(below: 4_000_000))
            let time = start.advanced(by: Int64(index) * 1000 - disorder)
            let value = random.next(below: 61) - 20
            let json = #"{"id":"Sensor \#(index % sensorCount)","dt":"\#(time.iso8601.dropLast())","value":\#(value)}"#
            return Array(json.utf8)
        }
    }

    /// A reading an hour after every other: its event time moves the watermark past every window
    /// of the readings, so that they all fire.
    static let sentinel = Array(
        #"{"id":"sentinel","dt":"\#(start.advanced(by: 3_600_000_000).iso8601.dropLast())","value":0}"#.utf8
    )
}

import Benchmark
import Foundation
import StreamKit

/// Decoding the IoT reading from its JSON payload: Foundation's `JSONDecoder` against StreamKit's
/// `FlatJSONDecoder`, on one thread, over the same 100,000 payloads.
///
/// Each iteration decodes every payload once, from `[UInt8]` as an MQTT message holds it (for
/// `JSONDecoder` through `Data`, as `MQTTSource.decoding(_:decoder:)` does), and records
/// ``messagesPerSecond``. Outside the timing, the count and the sum of the decoded values are
/// checked against the generator's.
enum DecodingBenchmarks {
    /// How many payloads each iteration decodes.
    static let payloadCount = 100_000
    /// The payloads, made once per process.
    static let payloads = IoTReadings.payloads(count: payloadCount)
    /// The sum of the readings' values and their event times, to check the decoders against.
    static let reference: Int = {
        let decoder = JSONDecoder()
        return payloads.reduce(0) { sum, payload in
            let reading = try! decoder.decode(Reading.self, from: Data(payload))
            return sum &+ reading.value &+ Int(reading.dt.microseconds) &+ reading.id.utf8.count
        }
    }()

    static func register() {
        decodingBenchmark("Decode IoT reading JSONDecoder") { payloads in
            let decoder = JSONDecoder()
            var sum = 0
            for payload in payloads {
                let reading = try decoder.decode(Reading.self, from: Data(payload))
                sum = sum &+ reading.value &+ Int(reading.dt.microseconds) &+ reading.id.utf8.count
            }
            return sum
        }
        decodingBenchmark("Decode IoT reading FlatJSONDecoder") { payloads in
            let decoder = FlatJSONDecoder()
            var sum = 0
            for payload in payloads {
                let reading = try decoder.decode(Reading.self, from: payload)
                sum = sum &+ reading.value &+ Int(reading.dt.microseconds) &+ reading.id.utf8.count
            }
            return sum
        }
    }

    /// Registers a benchmark that decodes every payload once per iteration with `decode`, which
    /// returns a checksum of what it decoded.
    static func decodingBenchmark(_ name: String, _ decode: @escaping @Sendable ([[UInt8]]) throws -> Int) {
        Benchmark(
            name,
            configuration: .init(
                metrics: [messagesPerSecond, .wallClock, .cpuTotal, .mallocCountTotal],
                timeUnits: .milliseconds,
                warmupIterations: 1,
                maxDuration: .seconds(20),
                maxIterations: 10
            )
        ) { benchmark in
            let clock = ContinuousClock()
            let started = clock.now
            let checksum = try decode(payloads)
            let elapsed = started.duration(to: clock.now)
            benchmark.stopMeasurement()
            benchmark.measurement(messagesPerSecond, rate(payloadCount, in: elapsed))
            if checksum != reference {
                benchmark.error("\(name) decoded checksum \(checksum), expected \(reference)")
            }
        } setup: {
            _ = reference
        }
    }
}

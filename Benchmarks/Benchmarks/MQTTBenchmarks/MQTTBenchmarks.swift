import Benchmark
import Foundation

/// The MQTT connector issue's benchmarks: decoding the IoT reading with `JSONDecoder` and with
/// `FlatJSONDecoder`, a StreamKit pipeline fed by a real mosquitto against `mosquitto_sub`, and
/// the MQTT source draining a backlog against `mosquitto_sub` draining the same one, at QoS 0 and
/// 1, with and without the journal (`DrainBenchmarks`).
///
/// The built-in `throughput` metric counts iterations per second, and an iteration here handles
/// 100,000 or 200,001 messages, so the suite records its own `messages/s` metric.
///
/// Run from the `Benchmarks` folder (needs `mosquitto` and `mosquitto-clients`):
///
/// ```sh
/// swift package --allow-writing-to-package-directory benchmark --target MQTTBenchmarks
/// ```
let benchmarks: @Sendable () -> Void = {
    DecodingBenchmarks.register()
    EndToEndBenchmarks.register()
    DrainBenchmarks.register()
}

/// Messages handled per second in one iteration.
let messagesPerSecond = BenchmarkMetric.custom("messages/s", polarity: .prefersLarger, useScalingFactor: false)

/// `count` messages in `elapsed`, per second.
func rate(_ count: Int, in elapsed: Duration) -> Int {
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    return Int((Double(count) / seconds).rounded())
}

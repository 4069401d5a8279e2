import Foundation
import IoTExample
import StreamKit
import StreamKitMQTT

/// What each IoT benchmark iteration runs on: a local mosquitto, a fresh data directory, the BI
/// store and the example's pipeline, started and subscribed.
struct IoTRig {
    let directory: String
    let broker: LocalMosquitto
    let catalog: SensorCatalog
    let options: IoTPipelineOptions
    let store: BIStore
    let source: MQTTSource
    let pipeline: Pipeline
    let run: Task<Void, any Error>

    /// Starts everything for `sensors` sensors, each expected every `interval`.
    init(sensors: Int, interval: Duration = .seconds(1)) async throws {
        directory = NSTemporaryDirectory() + "iot-benchmark-\(UUID().uuidString)"
        broker = try LocalMosquitto(directory: directory + "/mosquitto", persistence: false)
        catalog = try SensorCatalog.bundled().extended(to: sensors)
        var options = IoTPipelineOptions(
            mqtt: MQTTConfiguration(host: "127.0.0.1", port: broker.port, clientID: "iot-benchmark"),
            dataDirectory: directory + "/data",
            catalog: catalog
        )
        options.printsMinutes = false
        options.expectedInterval = interval
        self.options = options
        store = try BIStore(path: options.databasePath)
        source = MQTTSource(options.mqtt, topics: [options.topic], qos: .atLeastOnce)
        let pipeline = IoTPipeline.build(options: options, store: store, source: source)
        self.pipeline = pipeline
        let checkpoints = CheckpointConfiguration.every(.seconds(5), in: options.checkpointDirectory)
        run = Task { try await pipeline.run(checkpoints: checkpoints) }
        while !source.statistics.current.isSubscribed { try await Task.sleep(for: .milliseconds(10)) }
    }

    /// A generator of readings of the rig's sensors.
    var generator: ReadingGenerator { ReadingGenerator(catalog: catalog) }

    /// Publishes `generator`'s readings with `qos` and returns when they are all written (QoS 0)
    /// or acknowledged (QoS 1).
    func publish(_ generator: ReadingGenerator, qos: MQTTQoS) async {
        await IoTRunner.publish(generator, mqtt: options.mqtt, topic: options.topic, qos: qos)
    }

    /// Stops the pipeline (after a final checkpoint) and the broker, then removes the directory
    /// unless `keepingData` (the caller then calls ``removeData()``).
    func finish(keepingData: Bool = false) async throws {
        pipeline.stop()
        defer {
            broker.stop()
            if !keepingData { removeData() }
        }
        try await run.value
    }

    /// Removes the rig's directory.
    func removeData() {
        try? FileManager.default.removeItem(atPath: directory)
    }
}

extension Duration {
    /// The duration in seconds.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}

import Foundation
import Hummingbird
import Logging
import StreamKit
import StreamKitMQTT
import StreamKitPrometheus

/// Runs the IoT example: the pipeline, its HTTP API and, when no broker is given, a local
/// mosquitto and the reading generator, until Ctrl-C (or a set duration), then stops everything
/// with a final checkpoint.
public struct IoTRunner: Sendable {
    /// The pipeline's settings.
    public var options: IoTPipelineOptions
    /// The port of the HTTP API on 127.0.0.1; `nil` for none.
    public var httpPort: Int?
    /// Whether to start a local mosquitto (when no broker address was given).
    public var startsLocalBroker: Bool
    /// The generator to run in the same process, if any.
    public var generator: ReadingGenerator?
    /// How long to run; `nil` for until Ctrl-C or SIGTERM.
    public var duration: Duration?
    /// How often checkpoints are taken.
    public var checkpointInterval: Duration = .seconds(5)

    /// Creates a runner.
    public init(
        options: IoTPipelineOptions,
        httpPort: Int?,
        startsLocalBroker: Bool,
        generator: ReadingGenerator?,
        duration: Duration?
    ) {
        self.options = options
        self.httpPort = httpPort
        self.startsLocalBroker = startsLocalBroker
        self.generator = generator
        self.duration = duration
    }

    /// Runs until stopped.
    public func run() async throws {
        var options = self.options
        var broker: LocalMosquitto?
        if startsLocalBroker {
            let local = try LocalMosquitto(directory: "\(options.dataDirectory)/mosquitto")
            options.mqtt.host = "127.0.0.1"
            options.mqtt.port = local.port
            broker = local
            print("started mosquitto on 127.0.0.1:\(local.port)")
        }
        defer { broker?.stop() }

        let exporter = PrometheusExporter.bootstrap()
        try writeCatalog(options)
        let store = try BIStore(path: options.databasePath)
        let source = MQTTSource(
            options.mqtt,
            topics: [options.topic],
            qos: .atLeastOnce,
            journal: MQTTJournalConfiguration(directory: options.journalDirectory)
        )
        let pipeline = IoTPipeline.build(options: options, store: store, source: source)
        pipeline.stopOnTermination()

        var background: [Task<Void, Never>] = []
        defer { for task in background { task.cancel() } }
        if let generator {
            background.append(Task { await Self.publish(generator, mqtt: options.mqtt, topic: options.topic) })
        }
        if let httpPort {
            let api = IoTAPI(store: store, catalog: options.catalog, statistics: source.statistics, exporter: exporter)
            let app = Application(
                router: api.router(),
                configuration: .init(address: .hostname("127.0.0.1", port: httpPort)),
                logger: Logger(label: "iot-api")
            )
            background.append(
                Task {
                    do { try await app.runService(gracefulShutdownSignals: []) } catch {
                        print("HTTP API stopped: \(error)")
                    }
                }
            )
            print("HTTP API on http://127.0.0.1:\(httpPort)/ (dashboard), /sensors, /catalog, /quality, /metrics")
        }
        if let duration {
            background.append(
                Task {
                    try? await Task.sleep(for: duration)
                    if !Task.isCancelled { pipeline.stop() }
                }
            )
        }
        print("writing under \(options.dataDirectory): raw/, bi.sqlite, catalog/, checkpoints/, journal/")
        try await pipeline.run(checkpoints: .every(checkpointInterval, in: options.checkpointDirectory))
        print("stopped with a final checkpoint")
    }

    /// Stores the catalogue beside the raw archive, as JSON.
    func writeCatalog(_ options: IoTPipelineOptions) throws {
        let url = URL(fileURLWithPath: options.catalogPath)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(options.catalog.sensors).write(to: url, options: .atomic)
    }

    /// Publishes the generator's messages through StreamKit's own MQTT sink.
    ///
    /// QoS 0 (the default) is what the challenge's generator does, like most sensors: the broker
    /// and the network are trusted, no acknowledgement per message. QoS 1 doubles the packets on
    /// the wire (PUBLISH and PUBACK on both connections) and makes the broker persist each message
    /// in flight; it returns once every message is acknowledged.
    public static func publish(
        _ generator: ReadingGenerator,
        mqtt: MQTTConfiguration,
        topic: String,
        qos: MQTTQoS = .atMostOnce
    ) async {
        var configuration = mqtt
        configuration.clientID = "iot-generator-\(UInt32.random(in: 0...UInt32.max))"
        configuration.cleanSession = true
        let pipeline = Pipeline("iot-generator")
        pipeline.source(AsyncSequenceSource(generator), name: "generator")
            .sink(MQTTSink<[UInt8]>(configuration, topic: topic, qos: qos) { $0 }, name: "mqtt")
        do {
            try await withTaskCancellationHandler {
                try await pipeline.run()
            } onCancel: {
                pipeline.stop()
            }
        } catch is CancellationError {
            // Stopped with the pipeline it feeds.
        } catch {
            print("generator stopped: \(error)")
        }
    }
}

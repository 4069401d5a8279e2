// iot-pipeline: the IoT challenge end to end with StreamKit.
//
// With no options it starts a local mosquitto on a free port, the reading generator and the
// pipeline, writes under ./data/iot, prints each minute's means as its window closes, serves the
// HTTP API on http://127.0.0.1:8080/, and stops cleanly on Ctrl-C with a final checkpoint.
// With --broker host:port it attaches to that broker instead.

import ArgumentParser
import Foundation
import IoTExample
import StreamKit
import StreamKitMQTT

@main
struct IoTPipelineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "iot-pipeline",
        abstract: "MQTT sensor readings to a raw archive, a SQLite BI store, minute means, data quality and an API."
    )

    @Option(help: "An MQTT broker as host:port. Without it, a local mosquitto is started on a free port.")
    var broker: String?

    @Option(help: "Where the raw archive, the BI store, the catalogue and the checkpoints go.")
    var data = "data/iot"

    @Option(help: "The port of the HTTP API on 127.0.0.1 (0: no API).")
    var httpPort = 8080

    @Option(help: "The MQTT client id; the broker keeps the pipeline's session under it across restarts.")
    var clientID = "iot-pipeline"

    @Option(help: "The MQTT user name.")
    var username: String?

    @Option(help: "The MQTT password.")
    var password: String?

    @Option(help: "A sensors.json in the challenge's format (default: the challenge's five sensors).")
    var catalog: String?

    @Flag(help: "Run the reading generator in this process (default: only with the local broker).")
    var generator = false

    @Flag(help: "Do not run the reading generator, even with the local broker.")
    var noGenerator = false

    @Option(help: "Sensors the generator simulates (the catalogue is extended with synthetic ones).")
    var sensors = 5

    @Option(help: "How much faster than real time the generator's event time runs.")
    var speed = 1.0

    @Option(help: "Stop after this many seconds (default: run until Ctrl-C).")
    var duration: Double?

    func validate() throws {
        if httpPort < 0 || httpPort > 65535 { throw ValidationError("--http-port must be in 0...65535") }
        if sensors < 1 { throw ValidationError("--sensors must be at least 1") }
        if speed <= 0 { throw ValidationError("--speed must be positive") }
        if let duration, duration <= 0 { throw ValidationError("--duration must be positive") }
    }

    func run() async throws {
        // One line at a time on the console, also when it is a pipe or a log file (systemd, docker
        // logs): a line is there when it is printed, not when a buffer fills or the process exits.
        StandardOutput.writeLineByLine()
        var sensorCatalog = try catalog.map { try SensorCatalog(contentsOf: URL(fileURLWithPath: $0)) } ?? .bundled()
        sensorCatalog = sensorCatalog.extended(to: sensors)
        var mqtt: MQTTConfiguration
        do {
            mqtt =
                try broker.map { try MQTTConfiguration(address: $0, clientID: clientID) }
                ?? MQTTConfiguration(clientID: clientID)
        } catch let error as BrokerAddressError {
            throw ValidationError(error.message)
        }
        mqtt.cleanSession = false
        mqtt.username = username
        mqtt.password = password

        var readingGenerator: ReadingGenerator?
        if (broker == nil && !noGenerator) || generator {
            var generator = ReadingGenerator(catalog: sensorCatalog)
            generator.speed = speed
            readingGenerator = generator
        }
        let runner = IoTRunner(
            options: IoTPipelineOptions(mqtt: mqtt, dataDirectory: data, catalog: sensorCatalog),
            httpPort: httpPort == 0 ? nil : httpPort,
            startsLocalBroker: broker == nil,
            generator: readingGenerator,
            duration: duration.map { .milliseconds(Int64($0 * 1000)) }
        )
        try await runner.run()
    }
}

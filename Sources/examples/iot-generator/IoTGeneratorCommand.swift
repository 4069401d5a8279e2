// iot-generator: publishes sensor readings to MQTT the way the IoT challenge's generator does —
// topic `sensors`, one JSON message per sensor per interval — with chosen shares of out-of-order,
// late and malformed messages, for up to 10,000 and more sensors.

import ArgumentParser
import IoTExample
import StreamKit
import StreamKitMQTT

@main
struct IoTGeneratorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "iot-generator",
        abstract: "Publish IoT sensor readings to an MQTT broker."
    )

    @Option(help: "The MQTT broker as host:port.")
    var broker = "127.0.0.1:1883"

    @Option(help: "The topic to publish to.")
    var topic = "sensors"

    @Option(help: "Seconds of event time between two readings of one sensor.")
    var interval = 1.0

    @Option(help: "How many sensors to simulate (the challenge's five, then synthetic ones).")
    var sensors = 5

    @Option(help: "How much faster than real time event time runs.")
    var speed = 1.0

    @Option(help: "Share of readings sent out of order (up to 4 s).")
    var outOfOrder = 0.02

    @Option(help: "Share of readings sent 90 s late.")
    var late = 0.002

    @Option(help: "Share of malformed messages.")
    var malformed = 0.001

    @Option(help: "The MQTT quality of service of the publications: 0 (as the challenge's generator) or 1.")
    var qos = 0

    @Option(help: "How many rounds (one reading per sensor each) to publish; default: no end.")
    var rounds: Int?

    func validate() throws {
        if interval <= 0 { throw ValidationError("--interval must be positive") }
        if sensors < 1 { throw ValidationError("--sensors must be at least 1") }
        if speed <= 0 { throw ValidationError("--speed must be positive") }
        if qos != 0 && qos != 1 { throw ValidationError("--qos must be 0 or 1") }
        for (name, share) in [("--out-of-order", outOfOrder), ("--late", late), ("--malformed", malformed)]
        where !(0...1).contains(share) {
            throw ValidationError("\(name) is a share: use a number in 0...1")
        }
    }

    func run() async throws {
        let mqtt: MQTTConfiguration
        do {
            mqtt = try MQTTConfiguration(address: broker, clientID: nil)
        } catch let error as BrokerAddressError {
            throw ValidationError(error.message)
        }
        var generator = ReadingGenerator(catalog: try SensorCatalog.bundled().extended(to: sensors))
        generator.interval = .milliseconds(Int64(interval * 1000))
        generator.speed = speed
        generator.outOfOrderShare = outOfOrder
        generator.lateShare = late
        generator.malformedShare = malformed
        generator.rounds = rounds
        await IoTRunner.publish(generator, mqtt: mqtt, topic: topic, qos: qos == 0 ? .atMostOnce : .atLeastOnce)
    }
}

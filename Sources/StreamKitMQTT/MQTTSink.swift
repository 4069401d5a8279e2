import Foundation
import StreamKit

/// A sink that publishes each element to an MQTT broker.
///
/// The topic is fixed or computed from the element; the payload is the element encoded by a
/// closure (JSON for `Encodable` elements by default). With QoS 1 or 2 libmosquitto keeps every
/// publication until the broker acknowledges it, sending it again after a reconnection, and a
/// checkpoint completes only when the broker has acknowledged everything published before it; at
/// most ``maximumInFlight`` publications wait for acknowledgement, after which writing waits too.
/// A publication the broker refuses (MQTT 5 reason code) fails the next write or checkpoint.
///
/// ```swift
/// minuteMeans.sink(MQTTSink(mqtt, qos: .atLeastOnce) { result in "means/\(result.key)" })
/// ```
public struct MQTTSink<Element: Sendable>: Sink {
    /// Broker, identity, session and reconnection settings.
    public var configuration: MQTTConfiguration
    /// The topic of an element.
    public var topic: @Sendable (Element) -> String
    /// The payload of an element.
    public var encode: @Sendable (Element) throws -> [UInt8]
    /// The quality of service of the publications.
    public var qos: MQTTQoS
    /// Whether the broker keeps the last message of each topic for new subscribers.
    public var retain: Bool
    /// How many QoS 1 or 2 publications may wait for the broker's acknowledgement.
    public var maximumInFlight: Int
    /// Messages published and dropped, connections and disconnections.
    public let statistics = MQTTStatistics()

    /// Creates a sink that publishes to the topic computed from each element.
    /// - Parameters:
    ///   - configuration: Broker, identity, session and reconnection settings.
    ///   - qos: The quality of service of the publications.
    ///   - retain: Whether the broker keeps the last message of each topic.
    ///   - maximumInFlight: How many publications may wait for acknowledgement.
    ///   - encode: The payload of an element.
    ///   - topic: The topic of an element; it may not contain `+` or `#`.
    public init(
        _ configuration: MQTTConfiguration = MQTTConfiguration(),
        qos: MQTTQoS = .atLeastOnce,
        retain: Bool = false,
        maximumInFlight: Int = 1000,
        encode: @escaping @Sendable (Element) throws -> [UInt8],
        topic: @escaping @Sendable (Element) -> String
    ) {
        self.configuration = configuration
        self.topic = topic
        self.encode = encode
        self.qos = qos
        self.retain = retain
        self.maximumInFlight = maximumInFlight
    }

    /// Creates a sink that publishes every element to `topic`.
    public init(
        _ configuration: MQTTConfiguration = MQTTConfiguration(),
        topic: String,
        qos: MQTTQoS = .atLeastOnce,
        retain: Bool = false,
        maximumInFlight: Int = 1000,
        encode: @escaping @Sendable (Element) throws -> [UInt8]
    ) {
        self.init(configuration, qos: qos, retain: retain, maximumInFlight: maximumInFlight, encode: encode) { _ in
            topic
        }
    }

    /// Connects, and fails when the broker cannot be reached or refuses the connection.
    public func makeWriter(context: SinkContext) async throws -> Writer {
        if maximumInFlight < 1 {
            throw StreamKitError(
                code: .invalidConfiguration,
                message: "MQTT sink '\(context.name)' has maximumInFlight \(maximumInFlight): use 1 or more"
            )
        }
        let connection = try MQTTConnection(
            configuration: configuration,
            tracksPublications: qos > .atMostOnce,
            statistics: statistics
        )
        try await connection.start()
        return Writer(sink: self, connection: connection)
    }

    /// Publishes on the pipeline's task.
    public final class Writer: SinkWriter {
        let sink: MQTTSink<Element>
        let connection: MQTTConnection
        private var checkedTopics: Set<String> = []

        init(sink: MQTTSink<Element>, connection: MQTTConnection) {
            self.sink = sink
            self.connection = connection
        }

        deinit { connection.requestStop() }

        /// Publishes each element; waits when too many publications are unacknowledged.
        public func write(_ batch: Batch<Element>) async throws {
            for element in batch.elements {
                let topic = sink.topic(element)
                if !checkedTopics.contains(topic) {
                    try MQTTTopicFilter.validate(publication: topic)
                    if checkedTopics.count < 10_000 { checkedTopics.insert(topic) }
                }
                let payload: [UInt8]
                do {
                    payload = try sink.encode(element)
                } catch {
                    throw StreamKitError(
                        code: .sinkFailed,
                        message: "MQTT sink could not encode an element for topic '\(topic)': \(error)",
                        underlying: error
                    )
                }
                try connection.publish(topic: topic, payload: payload, qos: sink.qos, retain: sink.retain)
                sink.statistics.update { $0.messages += 1 }
                if sink.qos > .atMostOnce && connection.outstanding >= sink.maximumInFlight {
                    try await connection.waitForAcknowledgements(atMost: sink.maximumInFlight / 2)
                }
            }
        }

        /// Waits until the broker has acknowledged every publication so far.
        public func prepareCheckpoint(_ id: Int64) async throws -> [UInt8]? {
            try await connection.waitForAcknowledgements()
            return nil
        }

        /// Waits for every acknowledgement, then disconnects.
        public func finish() async throws {
            try await connection.waitForAcknowledgements()
            await connection.stop()
        }
    }
}

extension MQTTSink where Element: Encodable {
    /// Creates a sink that publishes every element as JSON to `topic`.
    public init(
        _ configuration: MQTTConfiguration = MQTTConfiguration(),
        topic: String,
        qos: MQTTQoS = .atLeastOnce,
        retain: Bool = false
    ) {
        self.init(configuration, topic: topic, qos: qos, retain: retain) { element in
            Array(try JSONEncoder().encode(element))
        }
    }
}

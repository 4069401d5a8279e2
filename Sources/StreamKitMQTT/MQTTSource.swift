import Foundation
import StreamKit

/// A source that subscribes to topics on an MQTT broker.
///
/// Each element is an ``MQTTMessage``: topic, payload bytes, QoS and the time it was received.
/// `decoding(_:decoder:)` turns the payloads into a `Decodable` type in one call, and sends a
/// payload that does not decode to the stream's error output with the topic, the reason and the
/// raw bytes.
///
/// ```swift
/// var mqtt = MQTTConfiguration(host: "127.0.0.1", clientID: "iot-pipeline")
/// mqtt.cleanSession = false
/// let readings = pipeline.source(
///     MQTTSource(mqtt, topics: ["sensors"], qos: .atLeastOnce).decoding(Reading.self))
/// ```
///
/// The connection runs on a thread of its own and reconnects (with exponential backoff and
/// jitter) whenever it drops, subscribing again each time. Between that thread and the pipeline
/// sits a bounded buffer of ``bufferCapacity`` messages. When the pipeline is slower than the
/// broker and the buffer is full:
/// - with QoS 1 or 2 the network thread waits, stops reading the socket, and the broker holds
///   back; it queues messages for the client up to its own limit (mosquitto's
///   `max_queued_messages`, 1000 by default: raise it for bursts). Nothing is dropped by StreamKit.
/// - with QoS 0 the message is dropped, as the broker itself would drop it, and counted in
///   ``statistics``.
///
/// Guarantees: MQTT cannot replay, so the source has no position in checkpoints. With QoS 1 and a
/// persistent session (``MQTTConfiguration/cleanSession`` `false`, a fixed client id) the broker
/// keeps what arrives while the pipeline is down and delivers it on reconnection: at-least-once
/// across restarts, except for the messages that libmosquitto had acknowledged and buffered when
/// the process died (it acknowledges on receipt). With QoS 0: at-most-once.
public struct MQTTSource: Source {
    /// The element type: one received message.
    public typealias Element = MQTTMessage

    /// Broker, identity, session and reconnection settings.
    public var configuration: MQTTConfiguration
    /// The topic filters to subscribe to; `+` matches one level, `#` the rest.
    public var topics: [String]
    /// The quality of service of the subscriptions.
    public var qos: MQTTQoS
    /// How many received messages may wait for the pipeline.
    public var bufferCapacity: Int
    /// Messages received and dropped, connections and disconnections.
    public let statistics = MQTTStatistics()

    /// Creates a source.
    /// - Parameters:
    ///   - configuration: Broker, identity, session and reconnection settings.
    ///   - topics: The topic filters to subscribe to.
    ///   - qos: The quality of service of the subscriptions.
    ///   - bufferCapacity: How many received messages may wait for the pipeline.
    public init(
        _ configuration: MQTTConfiguration = MQTTConfiguration(),
        topics: [String],
        qos: MQTTQoS = .atLeastOnce,
        bufferCapacity: Int = 10_000
    ) {
        self.configuration = configuration
        self.topics = topics
        self.qos = qos
        self.bufferCapacity = bufferCapacity
    }

    /// Connects, subscribes and returns the reader.
    /// - Throws: ``StreamKitError`` when the configuration or a topic filter is invalid, when the
    ///   broker refuses the connection, or when it cannot be reached within
    ///   ``MQTTConfiguration/connectTimeout``.
    public func makeReader(context: SourceContext) async throws -> Reader {
        if topics.isEmpty {
            throw StreamKitError(
                code: .invalidConfiguration,
                message:
                    "MQTT source '\(context.name)' has no topics: give at least one topic filter, such as \"sensors/#\""
            )
        }
        if bufferCapacity < 1 {
            throw StreamKitError(
                code: .invalidConfiguration,
                message: "MQTT source '\(context.name)' has bufferCapacity \(bufferCapacity): use 1 or more"
            )
        }
        let inbox = MQTTInbox(capacity: bufferCapacity, dropsWhenFull: qos == .atMostOnce, statistics: statistics)
        let connection = try MQTTConnection(
            configuration: configuration,
            subscriptions: topics,
            subscriptionQoS: qos,
            statistics: statistics,
            onMessage: { inbox.put($0) }
        )
        try await connection.start()
        let interval = context.tickInterval
        let clock = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                inbox.tick()
            }
        }
        return Reader(lifetime: Lifetime(connection: connection, inbox: inbox, clock: clock))
    }

    /// Owns the connection and the clock of a reader, and ends them when the reader goes away.
    final class Lifetime: Sendable {
        let connection: MQTTConnection
        let inbox: MQTTInbox
        let clock: Task<Void, Never>

        init(connection: MQTTConnection, inbox: MQTTInbox, clock: Task<Void, Never>) {
            self.connection = connection
            self.inbox = inbox
            self.clock = clock
        }

        deinit {
            clock.cancel()
            inbox.close()
            connection.requestStop()
        }
    }

    /// Takes the messages the network thread has received.
    public struct Reader: SourceReader {
        let lifetime: Lifetime

        /// Disconnects now (cleanly: a persistent session stays on the broker).
        public mutating func close() async {
            lifetime.inbox.close()
            await lifetime.connection.stop()
        }

        /// Waits for messages or a clock tick; the input of a broker never ends.
        public mutating func read(maximumCount: Int) async throws -> SourceRead<MQTTMessage> {
            let inbox = lifetime.inbox
            let take = await withTaskCancellationHandler {
                await inbox.take(maximumCount: maximumCount)
            } onCancel: {
                inbox.tick()
            }
            try Task.checkCancellation()
            switch take {
            case .messages(let messages): return .chunk(SourceChunk(elements: messages))
            case .tick: return .tick(.now)
            case .closed: return .end
            }
        }
    }
}

/// An ``MQTTSource`` whose payloads are decoded as they are read (see `MQTTSource.decoding(_:decoder:)`).
public typealias MQTTDecodingSource<Element: Sendable> = DecodingSource<MQTTSource, Element>

extension DecodingSource where Base == MQTTSource {
    /// Messages received and dropped, connections and disconnections.
    public var statistics: MQTTStatistics { source.statistics }
}

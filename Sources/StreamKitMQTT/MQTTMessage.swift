import StreamKit

/// One message received from an MQTT broker.
public struct MQTTMessage: Sendable, Hashable {
    /// The topic the message was published to.
    public var topic: String
    /// The payload, as published.
    public var payload: [UInt8]
    /// The quality of service the message was delivered with.
    public var qos: MQTTQoS
    /// Whether the broker delivered a retained message (sent on subscription, not live).
    public var retained: Bool
    /// When the connector received the message (processing time).
    public var receivedAt: Timestamp

    /// Creates a message.
    public init(
        topic: String,
        payload: [UInt8],
        qos: MQTTQoS = .atMostOnce,
        retained: Bool = false,
        receivedAt: Timestamp
    ) {
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retained = retained
        self.receivedAt = receivedAt
    }

    /// The payload as text, with invalid UTF-8 repaired.
    public var text: String { String(decoding: payload, as: UTF8.self) }
}

extension MQTTMessage: RawRecord {
    /// The payload.
    public var rawBytes: [UInt8] { payload }
    /// The topic.
    public var rawLocation: String? { topic }
    /// When the connector received the message.
    public var rawTime: Timestamp? { receivedAt }
}

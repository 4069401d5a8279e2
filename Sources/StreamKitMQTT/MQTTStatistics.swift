import CoreMetrics
import Synchronization

/// Counters of an MQTT source or sink, readable while the pipeline runs, and reported through
/// swift-metrics (see ``MQTTStatistics/Metric``) once the connection exists.
///
/// Nothing the connector drops goes uncounted: a QoS 0 message that arrives while the pipeline's
/// buffer is full is dropped (as the broker itself would drop it) and counted in ``Counters/dropped``.
public final class MQTTStatistics: Sendable {
    private let counters = Mutex(Counters())
    private let metrics = Mutex<Metrics?>(nil)

    /// The values of the counters at one instant.
    public struct Counters: Sendable, Equatable {
        /// Messages received from the broker (source) or published to it (sink).
        public var messages = 0
        /// Messages dropped: QoS 0 messages that found the buffer full, or QoS 0 publications made
        /// while the connection was down.
        public var dropped = 0
        /// Successful connections, the first one included.
        public var connects = 0
        /// Connections lost or closed.
        public var disconnects = 0
        /// Whether the connection is up now.
        public var isConnected = false
        /// Whether the broker has granted every subscription of the current connection.
        public var isSubscribed = false
        /// Received messages waiting for the pipeline (source), or publications waiting for the
        /// broker's acknowledgement (sink): the connector's in-flight messages.
        public var inFlight = 0
    }

    /// The names of the metrics, labelled `client_id` and `role` (`source` or `sink`).
    public enum Metric {
        /// Gauge: 1 while connected, else 0.
        public static let connected = "streamkit_mqtt_connected"
        /// Gauge: 1 while every subscription is granted, else 0 (sources).
        public static let subscribed = "streamkit_mqtt_subscribed"
        /// Counter: messages received (source) or published (sink).
        public static let messages = "streamkit_mqtt_messages_total"
        /// Counter: QoS 0 messages dropped.
        public static let dropped = "streamkit_mqtt_dropped_total"
        /// Counter: successful connections (so reconnections are `connects - 1`).
        public static let connects = "streamkit_mqtt_connects_total"
        /// Counter: connections lost or closed.
        public static let disconnects = "streamkit_mqtt_disconnects_total"
        /// Gauge: see ``Counters/inFlight``.
        public static let inFlight = "streamkit_mqtt_in_flight"
    }

    /// The metric handles of one connection.
    private struct Metrics: Sendable {
        let connected, subscribed, inFlight: Gauge
        let messages, dropped, connects, disconnects: Counter

        init(clientID: String, role: String) {
            let dimensions = [("client_id", clientID), ("role", role)]
            connected = Gauge(label: Metric.connected, dimensions: dimensions)
            subscribed = Gauge(label: Metric.subscribed, dimensions: dimensions)
            inFlight = Gauge(label: Metric.inFlight, dimensions: dimensions)
            messages = Counter(label: Metric.messages, dimensions: dimensions)
            dropped = Counter(label: Metric.dropped, dimensions: dimensions)
            connects = Counter(label: Metric.connects, dimensions: dimensions)
            disconnects = Counter(label: Metric.disconnects, dimensions: dimensions)
        }

        func record(from old: Counters, to new: Counters) {
            if new.messages > old.messages { messages.increment(by: new.messages - old.messages) }
            if new.dropped > old.dropped { dropped.increment(by: new.dropped - old.dropped) }
            if new.connects > old.connects { connects.increment(by: new.connects - old.connects) }
            if new.disconnects > old.disconnects { disconnects.increment(by: new.disconnects - old.disconnects) }
            if new.isConnected != old.isConnected { connected.record(new.isConnected ? 1 : 0) }
            if new.isSubscribed != old.isSubscribed { subscribed.record(new.isSubscribed ? 1 : 0) }
            if new.inFlight != old.inFlight { inFlight.record(new.inFlight) }
        }

        func recordAll(_ counters: Counters) {
            connected.record(counters.isConnected ? 1 : 0)
            subscribed.record(counters.isSubscribed ? 1 : 0)
            inFlight.record(counters.inFlight)
        }
    }

    /// Creates zeroed counters.
    public init() {}

    /// The counters now.
    public var current: Counters { counters.withLock { $0 } }

    /// Starts reporting through swift-metrics, labelled with the connection's client id and role.
    func attach(clientID: String, role: String) {
        let handles = Metrics(clientID: clientID, role: role)
        metrics.withLock { $0 = handles }
        handles.recordAll(current)
    }

    func update(_ body: (inout Counters) -> Void) {
        let handles = metrics.withLock { $0 }
        // Recorded under the lock, so that two threads' updates reach the gauges in order.
        counters.withLock { counters in
            let old = counters
            body(&counters)
            handles?.record(from: old, to: counters)
        }
    }
}

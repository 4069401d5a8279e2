import Synchronization

/// Counters of an MQTT source or sink, readable while the pipeline runs.
///
/// Nothing the connector drops goes uncounted: a QoS 0 message that arrives while the pipeline's
/// buffer is full is dropped (as the broker itself would drop it) and counted in ``dropped``.
public final class MQTTStatistics: Sendable {
    private let counters = Mutex(Counters())

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
    }

    /// Creates zeroed counters.
    public init() {}

    /// The counters now.
    public var current: Counters { counters.withLock { $0 } }

    func update(_ body: (inout Counters) -> Void) { counters.withLock { body(&$0) } }
}

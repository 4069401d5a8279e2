import CMosquitto
import Foundation
import Logging
import StreamKit

/// How an MQTT connection is made and kept: broker address, identity, session, security and
/// reconnection.
///
/// The defaults connect to a broker on the local machine with MQTT 5, a clean session and
/// automatic reconnection; ``validate()`` runs before any connection is attempted, so a setting
/// that cannot work fails at start with a message that says what to change.
///
/// ```swift
/// var mqtt = MQTTConfiguration(host: "broker.local", clientID: "iot-pipeline")
/// mqtt.cleanSession = false  // the broker keeps QoS 1 messages while the pipeline is away
/// ```
public struct MQTTConfiguration: Sendable {
    /// The broker's host name or address.
    public var host: String
    /// The broker's port: 1883 for plain MQTT, usually 8883 with TLS.
    public var port: Int
    /// The client identifier. A persistent session is found again by this identifier, so it must
    /// be stable across restarts when ``cleanSession`` is `false`, and unique among the clients of
    /// the broker.
    public var clientID: String
    /// Whether the broker forgets the session when the client disconnects. With `false` (a
    /// persistent session) the broker keeps the subscriptions and queues QoS 1 and 2 messages
    /// while the client is away, for ``sessionExpiry``.
    public var cleanSession: Bool
    /// How long the broker keeps a persistent session after the client disconnects (MQTT 5).
    public var sessionExpiry: Duration
    /// The user name, for brokers with password authentication.
    public var username: String?
    /// The password that goes with ``username``.
    public var password: String?
    /// TLS settings; `nil` for a plain TCP connection.
    public var tls: MQTTTLSConfiguration?
    /// How often the client and the broker check that the connection is alive. The broker drops a
    /// client it has not heard from for one and a half times this interval.
    public var keepAlive: Duration
    /// How long the first connection may take before start-up fails.
    public var connectTimeout: Duration
    /// How the client reconnects after the connection is lost.
    public var reconnect: MQTTReconnectPolicy
    /// The MQTT protocol version.
    public var protocolVersion: MQTTProtocolVersion
    /// How many QoS 1 and 2 messages the broker may send before the client acknowledges them
    /// (MQTT 5 "receive maximum").
    public var receiveMaximum: Int
    /// Where the connection logs connects, disconnects and reconnection attempts.
    public var logger: Logger

    /// Creates a configuration.
    /// - Parameters:
    ///   - host: The broker's host name or address.
    ///   - port: The broker's port.
    ///   - clientID: The client identifier; by default a random one, which suits a clean session.
    public init(host: String = "127.0.0.1", port: Int = 1883, clientID: String? = nil) {
        self.host = host
        self.port = port
        self.clientID = clientID ?? "streamkit-\(UInt32.random(in: 0...UInt32.max))"
        self.cleanSession = true
        self.sessionExpiry = .seconds(24 * 3600)
        self.username = nil
        self.password = nil
        self.tls = nil
        self.keepAlive = .seconds(30)
        self.connectTimeout = .seconds(10)
        self.reconnect = MQTTReconnectPolicy()
        self.protocolVersion = .v5
        self.receiveMaximum = 1000
        self.logger = Logger(label: "streamkit.mqtt")
    }

    /// The broker's address as `host:port`.
    public var address: String { "\(host):\(port)" }

    /// Checks the settings and throws one error that lists every problem.
    /// - Throws: ``StreamKitError`` with code `invalidConfiguration`.
    public func validate() throws {
        var problems: [String] = []
        if host.isEmpty { problems.append("host is empty: give the broker's host name or address") }
        if !(1...65535).contains(port) { problems.append("port is \(port): use a port in 1...65535") }
        if clientID.isEmpty || clientID.utf8.count > 65535 {
            problems.append("clientID is empty or too long: give a stable identifier of up to 65535 bytes")
        }
        if !cleanSession && sessionExpiry <= .zero {
            problems.append("sessionExpiry is \(sessionExpiry): a persistent session needs a positive expiry")
        }
        if password != nil && username == nil {
            problems.append("a password is set without a username: set username too")
        }
        let keepAliveSeconds = keepAlive.components.seconds
        if keepAliveSeconds < 5 || keepAliveSeconds > 65535 {
            problems.append("keepAlive is \(keepAlive): use 5 s to 65535 s")
        }
        if connectTimeout <= .zero { problems.append("connectTimeout is \(connectTimeout): use a positive duration") }
        if !(1...65535).contains(receiveMaximum) {
            problems.append("receiveMaximum is \(receiveMaximum): use 1...65535")
        }
        problems += reconnect.problems()
        if let tls { problems += tls.problems() }
        if !problems.isEmpty {
            throw StreamKitError(
                code: .invalidConfiguration,
                message: "invalid MQTT configuration for \(address): " + problems.joined(separator: "; ")
            )
        }
    }
}

/// The MQTT protocol version a connection speaks.
public enum MQTTProtocolVersion: Sendable {
    /// MQTT 3.1.1.
    case v311
    /// MQTT 5: session expiry, receive maximum and reason codes on every acknowledgement.
    case v5

    var code: Int32 {
        switch self {
        case .v311: MQTT_PROTOCOL_V311
        case .v5: MQTT_PROTOCOL_V5
        }
    }
}

/// The MQTT quality of service of a subscription or a publication.
public enum MQTTQoS: Int, Sendable, Comparable {
    /// Delivered at most once, never acknowledged: what is lost on the way stays lost.
    case atMostOnce = 0
    /// Delivered at least once: acknowledged, and sent again until it is.
    case atLeastOnce = 1
    /// Delivered exactly once between two MQTT parties, with a four-step handshake.
    case exactlyOnce = 2

    /// Orders by strength of the guarantee.
    public static func < (lhs: MQTTQoS, rhs: MQTTQoS) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// TLS settings of an MQTT connection.
public struct MQTTTLSConfiguration: Sendable {
    /// A PEM file with the certificate authorities that the broker's certificate must chain to.
    public var caFile: String
    /// A PEM file with the client's certificate, for brokers that require client certificates.
    public var certificateFile: String?
    /// The PEM file with the private key of ``certificateFile``.
    public var keyFile: String?
    /// Skips the check that the broker's certificate names the host. Only for tests.
    public var allowsInsecureHostName: Bool

    /// Creates TLS settings.
    public init(
        caFile: String,
        certificateFile: String? = nil,
        keyFile: String? = nil,
        allowsInsecureHostName: Bool = false
    ) {
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.allowsInsecureHostName = allowsInsecureHostName
    }

    func problems() -> [String] {
        var problems: [String] = []
        let files = FileManager.default
        if !files.isReadableFile(atPath: caFile) {
            problems.append("the TLS CA file '\(caFile)' cannot be read: check the path and its permissions")
        }
        if (certificateFile == nil) != (keyFile == nil) {
            problems.append("a TLS client certificate needs both certificateFile and keyFile")
        }
        for file in [certificateFile, keyFile].compactMap({ $0 }) where !files.isReadableFile(atPath: file) {
            problems.append("the TLS file '\(file)' cannot be read: check the path and its permissions")
        }
        return problems
    }
}

/// How a lost MQTT connection is re-established: exponential backoff with jitter, so that many
/// clients of a restarted broker do not all come back at the same instant.
public struct MQTTReconnectPolicy: Sendable {
    /// The wait before the first reconnection attempt.
    public var initialDelay: Duration
    /// The longest wait between two attempts.
    public var maximumDelay: Duration
    /// The factor by which the wait grows after each failed attempt.
    public var multiplier: Double
    /// The share of each wait that is random: 0.2 waits between 80% and 100% of the delay.
    public var jitter: Double

    /// Creates a policy.
    public init(
        initialDelay: Duration = .milliseconds(100),
        maximumDelay: Duration = .seconds(30),
        multiplier: Double = 2,
        jitter: Double = 0.2
    ) {
        self.initialDelay = initialDelay
        self.maximumDelay = maximumDelay
        self.multiplier = multiplier
        self.jitter = jitter
    }

    /// The wait before attempt `attempt` (counting from 0), jitter included.
    public func delay(beforeAttempt attempt: Int) -> Duration {
        let initial = initialDelay.seconds
        let grown = initial * pow(multiplier, Double(Swift.min(attempt, 64)))
        let capped = Swift.min(grown, maximumDelay.seconds)
        let factor = 1 - jitter * Double.random(in: 0...1)
        return .microseconds(Int64(capped * factor * 1_000_000))
    }

    func problems() -> [String] {
        var problems: [String] = []
        if initialDelay <= .zero { problems.append("reconnect.initialDelay must be positive") }
        if maximumDelay < initialDelay { problems.append("reconnect.maximumDelay must be at least initialDelay") }
        if multiplier < 1 { problems.append("reconnect.multiplier is \(multiplier): use 1 or more") }
        if !(0...1).contains(jitter) { problems.append("reconnect.jitter is \(jitter): use 0...1") }
        return problems
    }
}

extension Duration {
    /// The duration in seconds, as a floating-point number.
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}

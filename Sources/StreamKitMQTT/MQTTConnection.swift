import CMosquitto
import Foundation
import Logging
import StreamKit
import Synchronization

/// libmosquitto's global initialisation, done once per process before the first client is made.
private let libraryInitialization: Int32 = mosquitto_lib_init()

/// One connection to an MQTT broker, driven by a network thread of its own.
///
/// The thread connects, runs libmosquitto's network loop and reconnects with backoff and jitter
/// when the connection drops; after each (re)connection it subscribes again, so a broker that lost
/// its sessions (a restart without persistence) still delivers. libmosquitto calls back on this
/// thread: received messages go to ``onMessage`` (which may block it, and so slow the broker down
/// through TCP flow control), acknowledgements of publications update the count that a checkpoint
/// waits on.
final class MQTTConnection: Sendable {
    /// The libmosquitto client handle.
    ///
    /// `@unchecked Sendable`: the handle is driven by the network thread; the only call made from
    /// other threads is `mosquitto_publish_v5`, which libmosquitto guards with its own mutexes once
    /// `mosquitto_threaded_set` is on (done in `init`).
    struct Handle: @unchecked Sendable {
        let pointer: OpaquePointer
    }

    /// What the connection is doing, shared by the network thread and the pipeline's tasks.
    struct State {
        var isConnected = false
        var stopping = false
        var threadFinished = false
        /// Why the last connection attempt failed, for the start-up error.
        var lastFailure: String?
        /// The broker refused the connection: retrying with the same settings cannot help.
        var refusal: String?
        var connects = 0
        /// Reconnection attempts since the last successful connection.
        var attempt = 0
        /// QoS 1 and 2 publications not yet acknowledged by the broker.
        var outstanding = 0
        /// Publications the broker refused, reported by the next write or checkpoint.
        var publicationFailures: [String] = []
        /// Tasks waiting until `outstanding` is at most their limit.
        var drainWaiters: [(limit: Int, id: Int, continuation: CheckedContinuation<Void, Never>)] = []
        /// The number of the next waiter in `drainWaiters`, so that a cancelled one can be found.
        var nextWaiter = 0
        /// Tasks waiting for the network thread to end.
        var stopWaiters: [CheckedContinuation<Void, Never>] = []
    }

    let configuration: MQTTConfiguration
    let handle: Handle
    let subscriptions: [String]
    let subscriptionQoS: MQTTQoS
    /// Whether publications are acknowledged, and so counted until they are.
    let tracksPublications: Bool
    let statistics: MQTTStatistics
    let onMessage: @Sendable (MQTTMessage) throws -> Void
    let onBurst: @Sendable (Bool) -> Void
    let state = Mutex(State())
    private var logger: Logger { configuration.logger }

    /// Creates a client; nothing connects before ``start()``.
    /// - Parameters:
    ///   - configuration: Broker, identity, session and reconnection settings.
    ///   - subscriptions: Topic filters to subscribe to after every connection.
    ///   - subscriptionQoS: The QoS of the subscriptions.
    ///   - tracksPublications: Whether publications are made with QoS 1 or 2 and counted until the
    ///     broker acknowledges them.
    ///   - statistics: Where to count messages and connections.
    ///   - onMessage: Called on the network thread for every message received. When it throws, the
    ///     message could not be kept: the connection is cut before its acknowledgement leaves (the
    ///     broker delivers it again) and stops.
    ///   - onBurst: Called on the network thread with `true` before each round of reads (one
    ///     `mosquitto_loop` and the packets already waiting on the socket) and with `false` after it,
    ///     so that the receiver can hand the round's messages on together.
    init(
        configuration: MQTTConfiguration,
        subscriptions: [String] = [],
        subscriptionQoS: MQTTQoS = .atMostOnce,
        tracksPublications: Bool = false,
        statistics: MQTTStatistics,
        onMessage: @escaping @Sendable (MQTTMessage) throws -> Void = { _ in },
        onBurst: @escaping @Sendable (Bool) -> Void = { _ in }
    ) throws {
        try configuration.validate()
        for filter in subscriptions { try MQTTTopicFilter.validate(subscription: filter) }
        _ = libraryInitialization
        guard let pointer = mosquitto_new(configuration.clientID, configuration.cleanSession, nil) else {
            throw StreamKitError(
                code: .invalidConfiguration,
                message: "libmosquitto could not create a client for \(configuration.address) (out of memory?)"
            )
        }
        self.configuration = configuration
        self.handle = Handle(pointer: pointer)
        self.subscriptions = subscriptions
        self.subscriptionQoS = subscriptionQoS
        self.tracksPublications = tracksPublications
        self.statistics = statistics
        self.onMessage = onMessage
        self.onBurst = onBurst
        statistics.attach(clientID: configuration.clientID, role: subscriptions.isEmpty ? "sink" : "source")
        do {
            try configure()
        } catch {
            mosquitto_destroy(pointer)
            throw error
        }
    }

    deinit {
        mosquitto_destroy(handle.pointer)
    }

    private func configure() throws {
        let mosq = handle.pointer
        mosquitto_threaded_set(mosq, true)
        mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, configuration.protocolVersion.code)
        mosquitto_int_option(mosq, MOSQ_OPT_RECEIVE_MAXIMUM, Int32(configuration.receiveMaximum))
        if let username = configuration.username {
            try check(mosquitto_username_pw_set(mosq, username, configuration.password), "setting the credentials")
        }
        if let tls = configuration.tls {
            try check(
                mosquitto_tls_set(mosq, tls.caFile, nil, tls.certificateFile, tls.keyFile, nil),
                "loading the TLS files (CA \(tls.caFile), certificate \(tls.certificateFile ?? "none"))"
            )
            if tls.allowsInsecureHostName { mosquitto_tls_insecure_set(mosq, true) }
        }
        mosquitto_user_data_set(mosq, Unmanaged.passUnretained(self).toOpaque())
        mosquitto_connect_v5_callback_set(mosq) { _, context, reason, _, _ in
            MQTTConnection.from(context).didConnect(reason: reason)
        }
        mosquitto_disconnect_v5_callback_set(mosq) { _, context, reason, _ in
            MQTTConnection.from(context).didDisconnect(reason: reason)
        }
        mosquitto_message_v5_callback_set(mosq) { _, context, message, _ in
            guard let message else { return }
            MQTTConnection.from(context).didReceive(message.pointee)
        }
        mosquitto_publish_v5_callback_set(mosq) { _, context, _, reason, _ in
            MQTTConnection.from(context).didPublish(reason: reason)
        }
        mosquitto_subscribe_v5_callback_set(mosq) { _, context, _, count, granted, _ in
            guard let granted else { return }
            MQTTConnection.from(context).didSubscribe(
                granted: Array(UnsafeBufferPointer(start: granted, count: Int(count)))
            )
        }
    }

    private static func from(_ context: UnsafeMutableRawPointer?) -> MQTTConnection {
        Unmanaged<MQTTConnection>.fromOpaque(context!).takeUnretainedValue()
    }

    private func check(_ code: Int32, _ what: String) throws {
        guard code != MOSQ_ERR_SUCCESS.rawValue else { return }
        throw StreamKitError(
            code: .invalidConfiguration,
            message: "MQTT connection to \(configuration.address): \(what) failed: \(Self.describe(code))"
        )
    }

    // MARK: Start and stop

    /// Starts the network thread and waits until the first connection is up.
    /// - Throws: ``StreamKitError`` with code `connectionFailed` when the broker refuses the
    ///   connection (bad credentials, not authorised) or cannot be reached within
    ///   ``MQTTConfiguration/connectTimeout``; the message says what to check.
    func start() async throws {
        let thread = Thread { [self] in
            runNetworkLoop()
        }
        thread.name = "streamkit-mqtt-\(configuration.clientID)"
        thread.start()
        let deadline = ContinuousClock.now + configuration.connectTimeout
        while true {
            let (connected, refusal, failure, ended) = state.withLock {
                ($0.isConnected, $0.refusal, $0.lastFailure, $0.threadFinished)
            }
            if connected { return }
            if ended {
                // The network thread stopped on its own: a received message could not be kept.
                throw StreamKitError(
                    code: .connectionFailed,
                    message: "the MQTT connection to \(configuration.address) stopped: \(failure ?? "no reason given")"
                )
            }
            if let refusal {
                await stop()
                throw StreamKitError(code: .connectionFailed, message: refusal)
            }
            if ContinuousClock.now >= deadline {
                await stop()
                throw StreamKitError(
                    code: .connectionFailed,
                    message: "could not connect to the MQTT broker at \(configuration.address) within "
                        + "\(configuration.connectTimeout) (connectTimeout): \(failure ?? "no answer from the broker")"
                )
            }
            do {
                try await Task.sleep(for: .milliseconds(10))
            } catch {
                // Cancelled while connecting: the thread must not stay connected with no reader.
                await stop()
                throw error
            }
        }
    }

    /// Asks the network thread to disconnect and end, without waiting for it.
    func requestStop() {
        state.withLock { $0.stopping = true }
    }

    /// Disconnects cleanly (a persistent session stays on the broker) and ends the network thread.
    func stop() async {
        let finished = state.withLock { state -> Bool in
            state.stopping = true
            return state.threadFinished
        }
        if finished { return }
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { state -> Bool in
                if state.threadFinished { return true }
                state.stopWaiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    /// Connects, runs the network loop and reconnects, until ``stop()``.
    private func runNetworkLoop() {
        let mosq = handle.pointer
        var needsConnect = true
        while !state.withLock({ $0.stopping }) {
            if needsConnect {
                let code = connectOnce()
                if code != MOSQ_ERR_SUCCESS.rawValue {
                    let reason = connectFailure(code)
                    state.withLock { $0.lastFailure = reason }
                    backOff(after: reason)
                    continue
                }
                needsConnect = false
            }
            onBurst(true)
            var code = mosquitto_loop(mosq, 100, 1)
            if code == MOSQ_ERR_SUCCESS.rawValue { code = readWaitingPackets(mosq) }
            onBurst(false)
            if code != MOSQ_ERR_SUCCESS.rawValue {
                markDisconnected()
                if state.withLock({ $0.stopping }) { break }
                let reason = "connection lost: \(Self.describe(code))"
                state.withLock { if $0.lastFailure == nil { $0.lastFailure = reason } }
                backOff(after: reason)
                needsConnect = true
            }
        }
        // A clean DISCONNECT, so that the broker neither publishes a will nor waits for keep-alive.
        if state.withLock({ $0.isConnected }) {
            // QoS 0 publications have no acknowledgement to wait for: write what is still queued
            // before the DISCONNECT, as long as the broker keeps reading.
            let deadline = ContinuousClock.now + .seconds(30)
            while mosquitto_want_write(mosq), ContinuousClock.now < deadline,
                mosquitto_loop(mosq, 50, 1) == MOSQ_ERR_SUCCESS.rawValue
            {}
            mosquitto_disconnect(mosq)
            for _ in 0..<10 where mosquitto_loop(mosq, 50, 1) == MOSQ_ERR_SUCCESS.rawValue {}
            markDisconnected()
        }
        let waiters = state.withLock { state in
            state.threadFinished = true
            let waiters = (state.stopWaiters, state.drainWaiters.map(\.continuation))
            state.stopWaiters = []
            state.drainWaiters = []
            return waiters
        }
        for waiter in waiters.0 { waiter.resume() }
        for waiter in waiters.1 { waiter.resume() }
    }

    /// Reads the packets already waiting on the socket.
    ///
    /// `mosquitto_loop` reads one packet per `select` when nothing is in flight (QoS 0 messages):
    /// a `select` system call per message. While the socket holds more bytes, reading on without
    /// one halves the system calls of a busy subscriber. At most 1,000 packets, so that writes and
    /// keep-alive get their turn in `mosquitto_loop`.
    private func readWaitingPackets(_ mosq: OpaquePointer) -> Int32 {
        #if canImport(Glibc)
            for _ in 0..<1_000 {
                // Asked each time: a packet handler may have closed the socket.
                let socket = mosquitto_socket(mosq)
                var waiting: Int32 = 0
                guard socket >= 0, ioctl(socket, UInt(FIONREAD), &waiting) == 0, waiting > 0 else { break }
                let code = mosquitto_loop_read(mosq, 1)
                if code != MOSQ_ERR_SUCCESS.rawValue { return code }
            }
        #endif
        return MOSQ_ERR_SUCCESS.rawValue
    }

    private func connectOnce() -> Int32 {
        var properties: OpaquePointer? = nil
        defer { mosquitto_property_free_all(&properties) }
        if configuration.protocolVersion == .v5 && !configuration.cleanSession {
            let seconds = UInt32(clamping: configuration.sessionExpiry.components.seconds)
            mosquitto_property_add_int32(&properties, Int32(MQTT_PROP_SESSION_EXPIRY_INTERVAL.rawValue), seconds)
        }
        let keepAlive = Int32(configuration.keepAlive.components.seconds)
        return mosquitto_connect_bind_v5(
            handle.pointer,
            configuration.host,
            Int32(configuration.port),
            keepAlive,
            nil,
            properties
        )
    }

    /// Sleeps before the next attempt, in slices so that ``stop()`` is not held up.
    private func backOff(after reason: String) {
        let attempt = state.withLock { state -> Int in
            defer { state.attempt += 1 }
            return state.attempt
        }
        let delay = configuration.reconnect.delay(beforeAttempt: attempt)
        if attempt == 0 || attempt % 10 == 0 {
            logger.warning(
                "MQTT connection to \(configuration.address) is down; retrying in \(delay)",
                metadata: ["client": "\(configuration.clientID)", "reason": "\(reason)", "attempt": "\(attempt)"]
            )
        }
        let end = ContinuousClock.now + delay
        while ContinuousClock.now < end && !state.withLock({ $0.stopping }) {
            Thread.sleep(forTimeInterval: Swift.min(0.05, (end - ContinuousClock.now).seconds))
        }
    }

    private func markDisconnected() {
        let wasConnected = state.withLock { state -> Bool in
            defer { state.isConnected = false }
            return state.isConnected
        }
        if wasConnected {
            statistics.update {
                $0.disconnects += 1
                $0.isConnected = false
                $0.isSubscribed = false
            }
        }
    }

    // MARK: Callbacks, on the network thread

    private func didConnect(reason: Int32) {
        guard reason == 0 else {
            let refusal = Self.refusal(reason, configuration: configuration)
            logger.error("MQTT broker refused the connection", metadata: ["reason": "\(refusal)"])
            state.withLock {
                $0.lastFailure = refusal
                if !$0.isConnected && $0.connects == 0 { $0.refusal = refusal }
            }
            return
        }
        subscribe()
        let first = state.withLock { state -> Bool in
            state.isConnected = true
            state.attempt = 0
            state.lastFailure = nil
            state.connects += 1
            return state.connects == 1
        }
        statistics.update {
            $0.connects += 1; $0.isConnected = true
        }
        logger.info(
            first ? "MQTT connected" : "MQTT reconnected",
            metadata: ["broker": "\(configuration.address)", "client": "\(configuration.clientID)"]
        )
    }

    /// Subscribes to every filter in one SUBSCRIBE, so that one SUBACK says they all hold.
    private func subscribe() {
        guard !subscriptions.isEmpty else { return }
        let filters: [UnsafeMutablePointer<CChar>?] = subscriptions.map { strdup($0) }
        defer { for filter in filters { free(filter) } }
        let code = filters.withUnsafeBufferPointer { buffer in
            mosquitto_subscribe_multiple(
                handle.pointer,
                nil,
                Int32(buffer.count),
                buffer.baseAddress,
                Int32(subscriptionQoS.rawValue),
                0,
                nil
            )
        }
        if code != MOSQ_ERR_SUCCESS.rawValue {
            logger.error("MQTT subscription to \(subscriptions) failed: \(Self.describe(code))")
        }
    }

    private func didDisconnect(reason: Int32) {
        markDisconnected()
    }

    private func didSubscribe(granted: [Int32]) {
        let refused = granted.contains { $0 >= 0x80 }
        statistics.update { $0.isSubscribed = !refused }
        for (filter, code) in zip(subscriptions, granted) where code >= 0x80 {
            logger.error(
                "MQTT broker refused the subscription",
                metadata: ["filter": "\(filter)", "reason": "\(String(cString: mosquitto_reason_string(code)))"]
            )
        }
    }

    private func didReceive(_ message: mosquitto_message) {
        let topic = String(cString: message.topic)
        let payload: [UInt8] =
            message.payloadlen > 0
            ? Array(UnsafeRawBufferPointer(start: message.payload, count: Int(message.payloadlen)))
            : []
        do {
            try onMessage(
                MQTTMessage(
                    topic: topic,
                    payload: payload,
                    qos: MQTTQoS(rawValue: Int(message.qos)) ?? .atMostOnce,
                    retained: message.retain,
                    receivedAt: .now
                )
            )
        } catch {
            // The acknowledgement of this message is queued in libmosquitto, to be written after
            // this callback returns: cut the socket first, so that it never leaves and the broker
            // keeps the message for the next session.
            let socket = mosquitto_socket(handle.pointer)
            if socket >= 0 { shutdown(socket, Int32(SHUT_RDWR)) }
            logger.error(
                "MQTT source stops: a received message could not be kept, so it was not acknowledged",
                metadata: ["topic": "\(topic)", "error": "\(error)"]
            )
            state.withLock {
                $0.stopping = true
                $0.lastFailure = "\(error)"
            }
        }
    }

    private func didPublish(reason: Int32) {
        guard tracksPublications else { return }
        let (ready, outstanding) = state.withLock { state -> ([CheckedContinuation<Void, Never>], Int) in
            state.outstanding = Swift.max(0, state.outstanding - 1)
            if reason >= 0x80 {
                state.publicationFailures.append(String(cString: mosquitto_reason_string(reason)))
            }
            let outstanding = state.outstanding
            let ready = state.drainWaiters.filter { $0.limit >= outstanding }.map(\.continuation)
            state.drainWaiters.removeAll { $0.limit >= outstanding }
            return (ready, outstanding)
        }
        statistics.update { $0.inFlight = outstanding }
        for waiter in ready { waiter.resume() }
    }

    // MARK: Publishing

    /// QoS 1 and 2 publications the broker has not acknowledged yet.
    var outstanding: Int { state.withLock { $0.outstanding } }

    /// Publishes one message. With QoS 0 and no connection the message is dropped and counted.
    /// - Throws: When libmosquitto rejects the publication (a payload over the broker's limit).
    func publish(topic: String, payload: [UInt8], qos: MQTTQoS, retain: Bool) throws {
        if tracksPublications {
            let outstanding = state.withLock { state -> Int in
                state.outstanding += 1
                return state.outstanding
            }
            statistics.update { $0.inFlight = outstanding }
        }
        var mid: Int32 = 0
        let code = payload.withUnsafeBytes { bytes in
            mosquitto_publish_v5(
                handle.pointer,
                &mid,
                topic,
                Int32(bytes.count),
                bytes.baseAddress,
                Int32(qos.rawValue),
                retain,
                nil
            )
        }
        guard code != MOSQ_ERR_SUCCESS.rawValue else { return }
        if tracksPublications { didPublish(reason: 0) }
        if code == MOSQ_ERR_NO_CONN.rawValue && qos == .atMostOnce {
            statistics.update { $0.dropped += 1 }
            return
        }
        throw StreamKitError(
            code: .sinkFailed,
            message: "publishing to MQTT topic '\(topic)' on \(configuration.address) failed: \(Self.describe(code))"
        )
    }

    /// Waits until at most `limit` publications are unacknowledged, then reports any publication
    /// the broker refused.
    ///
    /// Cancelling the task ends the wait with `CancellationError` (a pipeline that fails elsewhere
    /// while the broker is unreachable must not wait for it).
    func waitForAcknowledgements(atMost limit: Int = 0) async throws {
        let id = state.withLock { state in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    // Checked under the lock: a cancellation before this point finds no waiter.
                    if state.outstanding <= limit || state.threadFinished || Task.isCancelled { return true }
                    state.drainWaiters.append((limit, id, continuation))
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                guard let index = state.drainWaiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.drainWaiters.remove(at: index).continuation
            }
            waiter?.resume()
        }
        try Task.checkCancellation()
        let failures = state.withLock { state in
            defer { state.publicationFailures = [] }
            return state.publicationFailures
        }
        if let first = failures.first {
            throw StreamKitError(
                code: .sinkFailed,
                message:
                    "the MQTT broker at \(configuration.address) refused \(failures.count) publication(s): \(first); "
                    + "check the topic and the client's permissions (ACL)"
            )
        }
    }

    // MARK: Messages

    static func describe(_ code: Int32) -> String {
        if code == MOSQ_ERR_ERRNO.rawValue { return String(cString: strerror(errno)) }
        return String(cString: mosquitto_strerror(code))
    }

    private func connectFailure(_ code: Int32) -> String {
        let error = errno
        if code == MOSQ_ERR_ERRNO.rawValue && error == ECONNREFUSED {
            return "connection refused by \(configuration.address): is the broker running, and are host and port right?"
        }
        if code == MOSQ_ERR_EAI.rawValue {
            return "cannot resolve host '\(configuration.host)': check the host name"
        }
        if code == MOSQ_ERR_TLS.rawValue {
            return "TLS handshake with \(configuration.address) failed: check that the broker speaks TLS on this port, "
                + "that its certificate chains to the CA file and names the host"
        }
        if code == MOSQ_ERR_ERRNO.rawValue {
            return "cannot connect to \(configuration.address): \(String(cString: strerror(error)))"
        }
        return "cannot connect to \(configuration.address): \(Self.describe(code))"
    }

    private static func refusal(_ reason: Int32, configuration: MQTTConfiguration) -> String {
        let text = String(cString: mosquitto_reason_string(reason))
        let address = configuration.address
        switch Int(reason) {
        case Int(MQTT_RC_BAD_USERNAME_OR_PASSWORD.rawValue), 4:
            return "the MQTT broker at \(address) rejected the user name or password (\(text)): "
                + "check username and password in the MQTT configuration"
        case Int(MQTT_RC_NOT_AUTHORIZED.rawValue), 5:
            // mosquitto answers a wrong password with this code too.
            return "the MQTT broker at \(address) did not authorise client '\(configuration.clientID)' (\(text)): "
                + "check username and password in the MQTT configuration, and the broker's access rules"
        case Int(MQTT_RC_CLIENTID_NOT_VALID.rawValue), 2:
            return "the MQTT broker at \(address) rejected client id '\(configuration.clientID)' (\(text))"
        default:
            return "the MQTT broker at \(address) refused the connection: \(text)"
        }
    }
}

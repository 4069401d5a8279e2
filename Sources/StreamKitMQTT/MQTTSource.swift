import Foundation
import Logging
import StreamKit

/// A source that subscribes to topics on an MQTT broker.
///
/// Each element is an ``MQTTMessage``: topic, payload bytes, QoS and the time it was received.
/// `decoding(_:)` turns the payloads into a `Decodable` type in one call, and sends a
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
/// Guarantees: with a ``journal``, every message is written to a local write-ahead log before
/// libmosquitto acknowledges it to the broker, and the source's position in that log is recorded in
/// checkpoints: after a crash the next run replays what the last checkpoint did not include, so
/// with QoS 1 or 2 no message the broker delivered is lost (at-least-once into the pipeline;
/// exactly-once state for the messages the journal holds). The broker may still deliver a message
/// twice (after a reconnection, when its acknowledgement was lost): deduplicate by a key of the
/// message's content (``StreamKit/KeyedStream/deduplicate(by:within:name:)``) where that matters.
/// A graceful stop disconnects first, then processes every message received before the final
/// checkpoint. Without a journal the source has no position: with QoS 1 and a persistent session
/// (``MQTTConfiguration/cleanSession`` `false`, a fixed client id) the broker keeps what arrives
/// while the pipeline is down, but the messages acknowledged and not yet checkpointed when the
/// process dies are lost. With QoS 0: at-most-once, journal or not.
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
    /// The write-ahead log that keeps received messages across crashes; `nil` for none.
    public var journal: MQTTJournalConfiguration?
    /// Messages received and dropped, connections and disconnections.
    public let statistics = MQTTStatistics()

    /// Creates a source.
    /// - Parameters:
    ///   - configuration: Broker, identity, session and reconnection settings.
    ///   - topics: The topic filters to subscribe to.
    ///   - qos: The quality of service of the subscriptions.
    ///   - bufferCapacity: How many received messages may wait for the pipeline.
    ///   - journal: The write-ahead log that keeps received messages across crashes (see
    ///     ``MQTTJournalConfiguration``); `nil` for none.
    public init(
        _ configuration: MQTTConfiguration = MQTTConfiguration(),
        topics: [String],
        qos: MQTTQoS = .atLeastOnce,
        bufferCapacity: Int = 10_000,
        journal: MQTTJournalConfiguration? = nil
    ) {
        self.configuration = configuration
        self.topics = topics
        self.qos = qos
        self.bufferCapacity = bufferCapacity
        self.journal = journal
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
        try journal?.validate(source: context.name)
        let log = try journal.map { try MQTTJournal($0, logger: configuration.logger) }
        let inbox = MQTTInbox(
            capacity: bufferCapacity,
            dropsWhenFull: qos == .atMostOnce,
            statistics: statistics,
            journal: log
        )
        // Everything in the journal now was received by an earlier run; what this run receives
        // is appended after it.
        let replayEnd = log?.end ?? 0
        let connection = try MQTTConnection(
            configuration: configuration,
            subscriptions: topics,
            subscriptionQoS: qos,
            statistics: statistics,
            onMessage: { try inbox.put($0) },
            onBurst: { $0 ? inbox.beginBurst() : inbox.endBurst() }
        )
        do {
            try await connection.start()
        } catch {
            // The journal's own error says what to do (free disk space) better than the connection's.
            if let failure = log?.failure { throw failure }
            throw error
        }
        let interval = context.tickInterval
        let clock = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                log?.syncIfDue()
                inbox.tick()
            }
        }
        return Reader(
            lifetime: Lifetime(connection: connection, inbox: inbox, journal: log, clock: clock),
            next: log?.start ?? 0,
            replayEnd: replayEnd,
            isCheckpointed: context.isCheckpointed,
            logger: configuration.logger
        )
    }

    /// Owns the connection, the journal and the clock of a reader, and ends them when the reader
    /// goes away.
    final class Lifetime: Sendable {
        let connection: MQTTConnection
        let inbox: MQTTInbox
        let journal: MQTTJournal?
        let clock: Task<Void, Never>

        init(connection: MQTTConnection, inbox: MQTTInbox, journal: MQTTJournal?, clock: Task<Void, Never>) {
            self.connection = connection
            self.inbox = inbox
            self.journal = journal
            self.clock = clock
        }

        deinit {
            clock.cancel()
            inbox.close()
            connection.requestStop()
        }
    }

    /// Takes the messages the network thread has received: first, with a journal, those an
    /// earlier run received and did not checkpoint.
    public struct Reader: SourceReader {
        let lifetime: Lifetime
        /// The journal offset after the last message read.
        var next: Int64
        /// Where the messages of earlier runs end in the journal.
        let replayEnd: Int64
        let isCheckpointed: Bool
        let logger: Logger
        /// The position of the newest completed checkpoint: the journal keeps what follows it.
        var newestCompleted: Int64?

        /// Disconnects now (cleanly: a persistent session stays on the broker).
        public mutating func close() async {
            lifetime.inbox.close()
            await lifetime.connection.stop()
            lifetime.journal?.close()
        }

        /// Disconnects, and lets the pipeline read what was received until then.
        public mutating func stopReceiving() async -> Bool {
            lifetime.inbox.beginDraining()
            await lifetime.connection.stop()
            lifetime.inbox.close()
            return true
        }

        /// Waits for messages or a clock tick; the input of a broker never ends.
        /// - Throws: ``StreamKitError`` when the journal cannot be written or read.
        public mutating func read(maximumCount: Int) async throws -> SourceRead<MQTTMessage> {
            if let journal = lifetime.journal {
                if let failure = journal.failure { throw failure }
                if next < replayEnd {
                    let (messages, after) = try journal.read(from: next, limit: replayEnd, maximumCount: maximumCount)
                    if messages.isEmpty {
                        // Only a damaged segment stops a read before the end: say what is skipped.
                        logger.error(
                            "MQTT journal: unreadable records skipped; the messages in them are lost",
                            metadata: [
                                "from": "\(next)", "to": "\(replayEnd)", "journal": "\(journal.directory)",
                            ]
                        )
                        next = replayEnd
                    } else {
                        next = after
                    }
                    if !messages.isEmpty { return .chunk(SourceChunk(elements: messages)) }
                }
            }
            let inbox = lifetime.inbox
            let take = await withTaskCancellationHandler {
                await inbox.take(maximumCount: maximumCount)
            } onCancel: {
                inbox.tick()
            }
            try Task.checkCancellation()
            switch take {
            case .messages(let entries):
                guard let journal = lifetime.journal else {
                    return .chunk(SourceChunk(elements: entries.map(\.message)))
                }
                // Entries at or before the position were replayed from the journal already.
                let fresh = entries.filter { $0.end > next }
                if let last = fresh.last { next = last.end }
                if !isCheckpointed { journal.trim(before: next) }
                return .chunk(SourceChunk(elements: fresh.map(\.message)))
            case .tick: return .tick(.now)
            case .closed:
                if let failure = lifetime.journal?.failure { throw failure }
                return .end
            }
        }

        /// The offset in the journal after the last message read; `nil` without a journal.
        public var position: SourcePosition? {
            lifetime.journal == nil ? nil : SourcePosition(["journal": next])
        }

        /// Resumes after the last message a checkpoint included.
        /// - Throws: ``StreamKitError`` when the source has no journal: it cannot rewind.
        public mutating func seek(to position: SourcePosition) async throws {
            guard let journal = lifetime.journal, let offset = position.offsets["journal"] else {
                throw StreamKitError(
                    code: .checkpoint,
                    message: "the MQTT source has no journal, so it cannot resume from checkpointed position "
                        + "\(position): give it the journal it had (MQTTSource(journal:))"
                )
            }
            if offset < journal.start {
                logger.error(
                    "MQTT journal: the checkpoint's position is older than the journal's oldest message; the messages between are lost",
                    metadata: [
                        "position": "\(offset)", "oldest": "\(journal.start)", "journal": "\(journal.directory)",
                    ]
                )
                next = journal.start
            } else if offset > replayEnd {
                logger.error(
                    "MQTT journal: the checkpoint's position is past the journal's end (a journal of another pipeline, or one deleted?); reading on from its end",
                    metadata: ["position": "\(offset)", "end": "\(replayEnd)", "journal": "\(journal.directory)"]
                )
                next = replayEnd
            } else {
                next = offset
            }
        }

        /// Forgets the journal's segments that no checkpoint still needs: those before the newest
        /// but one (the newest may turn out unreadable, and the one before it needs them).
        public mutating func checkpointCompleted(_ id: Int64, position: SourcePosition?) async throws {
            guard let journal = lifetime.journal, let offset = position?.offsets["journal"] else { return }
            journal.syncIfDue(force: true)
            if let newestCompleted { journal.trim(before: newestCompleted) }
            newestCompleted = offset
        }
    }
}

/// An ``MQTTSource`` whose payloads are decoded as they are read (see `MQTTSource.decoding(_:)`).
public typealias MQTTDecodingSource<Element: Sendable> = DecodingSource<MQTTSource, Element>

extension DecodingSource where Base == MQTTSource {
    /// Messages received and dropped, connections and disconnections.
    public var statistics: MQTTStatistics { source.statistics }
}

import DequeModule
import Foundation

/// The bounded queue between libmosquitto's network thread and the pipeline's reading task.
///
/// The network thread calls ``put(_:)``; when the queue is full it either waits, which stops it
/// reading the socket so that TCP flow control slows the broker down (QoS 1 and 2: nothing may be
/// lost), or drops the message and counts it (QoS 0, which the broker would drop as well). The
/// reader awaits ``take(maximumCount:)``, which a clock wakes with ``Take/tick`` when nothing came.
///
/// With a journal, ``put(_:)`` writes the message to it before anything else, and each queued
/// message carries its end offset in the journal: the source's position once the message is read.
/// libmosquitto sends the acknowledgement of a QoS 1 or 2 message after its callback returns, so
/// the message is in the journal before the broker forgets it.
///
/// `@unchecked Sendable`: every stored property is read and written only while `condition` is
/// locked; continuations are resumed after it is unlocked.
final class MQTTInbox: @unchecked Sendable {
    /// A queued message and its end offset in the journal (0 without one).
    struct Entry {
        var message: MQTTMessage
        var end: Int64
    }

    /// What a reader gets.
    enum Take {
        case messages([Entry])
        case tick
        case closed
    }

    private let condition = NSCondition()
    private var buffer: Deque<Entry> = []
    private var waiter: (continuation: CheckedContinuation<Take, Never>, maximumCount: Int)?
    private var closed = false
    /// A graceful stop is disconnecting: the network thread must not wait for room any more.
    private var draining = false
    /// The network thread is reading a burst: a waiting reader is handed a full batch, or the
    /// rest at ``endBurst()``.
    private var inBurst = false
    let capacity: Int
    let dropsWhenFull: Bool
    let statistics: MQTTStatistics
    let journal: MQTTJournal?

    init(capacity: Int, dropsWhenFull: Bool, statistics: MQTTStatistics, journal: MQTTJournal? = nil) {
        self.capacity = capacity
        self.dropsWhenFull = dropsWhenFull
        self.statistics = statistics
        self.journal = journal
    }

    /// Adds a message; waits while the queue is full, or drops the message when the queue drops.
    /// - Throws: When the journal cannot store the message: the connection must not acknowledge it.
    func put(_ message: MQTTMessage) throws {
        if dropsWhenFull {
            condition.lock()
            let full = buffer.count >= capacity && !draining
            condition.unlock()
            if full {
                statistics.update { $0.dropped += 1 }
                return
            }
        }
        // Durable (against a crash of the process) before anything else: a message the reader has
        // not taken when the process ends is replayed from the journal by the next run.
        let end = try journal?.append(message) ?? 0
        condition.lock()
        while buffer.count >= capacity && !closed && !draining {
            condition.wait()
        }
        if closed {
            condition.unlock()
            return
        }
        buffer.append(Entry(message: message, end: end))
        let handOver =
            inBurst && buffer.count < Swift.min(capacity, waiter?.maximumCount ?? 0) ? nil : takeForWaiter()
        let waiting = buffer.count
        condition.unlock()
        statistics.update {
            $0.messages += 1
            $0.inFlight = waiting
        }
        handOver?.continuation.resume(returning: handOver!.take)
    }

    /// Waits for messages, a tick or the end, and takes up to `maximumCount` messages.
    func take(maximumCount: Int) async -> Take {
        await withCheckedContinuation { continuation in
            condition.lock()
            if !buffer.isEmpty || closed {
                let take = drain(maximumCount)
                let waiting = buffer.count
                condition.unlock()
                statistics.update { $0.inFlight = waiting }
                continuation.resume(returning: take)
                return
            }
            waiter = (continuation, maximumCount)
            condition.unlock()
        }
    }

    /// Wakes a waiting reader: with the messages held for the end of a burst, if any, else with
    /// ``Take/tick``.
    func tick() {
        condition.lock()
        let waiting = waiter
        waiter = nil
        let take: Take = if let waiting, !buffer.isEmpty { drain(waiting.maximumCount) } else { .tick }
        condition.unlock()
        waiting?.continuation.resume(returning: take)
    }

    /// The network thread begins reading a burst of messages.
    func beginBurst() {
        condition.lock()
        inBurst = true
        condition.unlock()
    }

    /// The network thread has read the burst: a waiting reader gets what it holds.
    func endBurst() {
        condition.lock()
        inBurst = false
        let handOver = buffer.isEmpty ? nil : takeForWaiter()
        condition.unlock()
        if let handOver { handOver.continuation.resume(returning: handOver.take) }
    }

    /// Lets the network thread queue beyond the capacity, so that it never waits while a graceful
    /// stop disconnects it: what the broker delivers until then is kept and read.
    func beginDraining() {
        condition.lock()
        draining = true
        condition.broadcast()
        condition.unlock()
    }

    /// Ends the queue: the network thread stops waiting and a reader gets what is left, then
    /// ``Take/closed``.
    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        let handOver = takeForWaiter()
        condition.unlock()
        if let handOver { handOver.continuation.resume(returning: handOver.take) }
    }

    private func takeForWaiter() -> (continuation: CheckedContinuation<Take, Never>, take: Take)? {
        guard let waiting = waiter else { return nil }
        waiter = nil
        return (waiting.continuation, drain(waiting.maximumCount))
    }

    private func drain(_ maximumCount: Int) -> Take {
        if buffer.isEmpty { return closed ? .closed : .tick }
        let count = Swift.min(maximumCount, buffer.count)
        let entries = Array(buffer.prefix(count))
        buffer.removeFirst(count)
        condition.broadcast()
        return .messages(entries)
    }
}

import DequeModule
import Foundation

/// The bounded queue between libmosquitto's network thread and the pipeline's reading task.
///
/// The network thread calls ``put(_:)``; when the queue is full it either waits, which stops it
/// reading the socket so that TCP flow control slows the broker down (QoS 1 and 2: nothing may be
/// lost), or drops the message and counts it (QoS 0, which the broker would drop as well). The
/// reader awaits ``take(maximumCount:)``, which a clock wakes with ``Take/tick`` when nothing came.
///
/// `@unchecked Sendable`: every stored property is read and written only while `condition` is
/// locked; continuations are resumed after it is unlocked.
final class MQTTInbox: @unchecked Sendable {
    /// What a reader gets.
    enum Take {
        case messages([MQTTMessage])
        case tick
        case closed
    }

    private let condition = NSCondition()
    private var buffer: Deque<MQTTMessage> = []
    private var waiter: (continuation: CheckedContinuation<Take, Never>, maximumCount: Int)?
    private var closed = false
    let capacity: Int
    let dropsWhenFull: Bool
    let statistics: MQTTStatistics

    init(capacity: Int, dropsWhenFull: Bool, statistics: MQTTStatistics) {
        self.capacity = capacity
        self.dropsWhenFull = dropsWhenFull
        self.statistics = statistics
    }

    /// Adds a message; waits while the queue is full, or drops the message when the queue drops.
    func put(_ message: MQTTMessage) {
        condition.lock()
        while buffer.count >= capacity && !closed {
            if dropsWhenFull {
                condition.unlock()
                statistics.update { $0.dropped += 1 }
                return
            }
            condition.wait()
        }
        if closed {
            condition.unlock()
            return
        }
        buffer.append(message)
        let handOver = takeForWaiter()
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

    /// Wakes a waiting reader with ``Take/tick``.
    func tick() {
        condition.lock()
        let waiting = waiter
        waiter = nil
        condition.unlock()
        waiting?.continuation.resume(returning: .tick)
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
        let messages = Array(buffer.prefix(count))
        buffer.removeFirst(count)
        condition.broadcast()
        return .messages(messages)
    }
}

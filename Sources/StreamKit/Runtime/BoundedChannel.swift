import DequeModule
import Synchronization

/// A bounded multi-producer, single-consumer queue between tasks: the backpressure of the runtime.
///
/// A producer that finds the queue full suspends in ``send(_:)`` until the consumer has taken an
/// element, so a slow operator slows its upstream down instead of letting memory grow. Elements are
/// batches, so one suspension is paid per batch, never per record. ``offer(_:)`` never suspends and
/// is for messages that may be dropped when the queue is full (clock ticks).
///
/// The state lives behind a `Mutex`; continuations are resumed after the lock is released.
final class BoundedChannel<Element: Sendable>: Sendable {
    private struct State {
        var buffer: Deque<Element> = []
        var consumer: CheckedContinuation<Element?, Never>?
        var producers: Deque<(element: Element, continuation: CheckedContinuation<Void, Never>)> = []
        var closed = false
    }

    /// How many elements the queue holds before producers wait.
    let capacity: Int
    private let state = Mutex(State())

    /// Creates a channel that holds up to `capacity` elements.
    init(capacity: Int) {
        precondition(capacity > 0, "a channel needs room for at least one element")
        self.capacity = capacity
    }

    /// The number of elements waiting, for metrics.
    var count: Int { state.withLock { $0.buffer.count + $0.producers.count } }

    /// Sends an element, waiting while the channel is full. After ``close()`` the element is dropped.
    private enum SendAction {
        case done
        case resume(CheckedContinuation<Element?, Never>)
        case wait
    }

    private enum ReceiveAction {
        case value(Element, CheckedContinuation<Void, Never>?)
        case closed
        case wait
    }

    func send(_ element: Element) async {
        let action: SendAction = state.withLock { state in
            if state.closed { return .done }
            if let consumer = state.consumer {
                state.consumer = nil
                return .resume(consumer)
            }
            if state.buffer.count < capacity {
                state.buffer.append(element)
                return .done
            }
            return .wait
        }
        switch action {
        case .done: return
        case .resume(let consumer): consumer.resume(returning: element)
        case .wait:
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow: Bool = state.withLock { state in
                    if state.closed { return true }
                    // The consumer may have drained the buffer between the two locks.
                    if let consumer = state.consumer {
                        state.consumer = nil
                        state.buffer.append(element)
                        let first = state.buffer.removeFirst()
                        consumer.resume(returning: first)
                        return true
                    }
                    if state.buffer.count < capacity {
                        state.buffer.append(element)
                        return true
                    }
                    state.producers.append((element, continuation))
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
    }

    /// Sends an element if there is room, without waiting. Returns whether it was sent.
    @discardableResult
    func offer(_ element: Element) -> Bool {
        let consumer: CheckedContinuation<Element?, Never>?
        let sent: Bool
        (consumer, sent) = state.withLock { state in
            if state.closed { return (nil, false) }
            if let consumer = state.consumer {
                state.consumer = nil
                return (consumer, true)
            }
            if state.buffer.count < capacity {
                state.buffer.append(element)
                return (nil, true)
            }
            return (nil, false)
        }
        consumer?.resume(returning: element)
        return sent
    }

    /// Receives the next element, waiting for one; `nil` once the channel is closed and empty.
    func receive() async -> Element? {
        let action: ReceiveAction = state.withLock { state in
            if let first = state.buffer.popFirst() {
                if let producer = state.producers.popFirst() {
                    state.buffer.append(producer.element)
                    return .value(first, producer.continuation)
                }
                return .value(first, nil)
            }
            if let producer = state.producers.popFirst() {
                return .value(producer.element, producer.continuation)
            }
            return state.closed ? .closed : .wait
        }
        switch action {
        case .value(let element, let producer):
            producer?.resume()
            return element
        case .closed:
            return nil
        case .wait:
            return await withCheckedContinuation { (continuation: CheckedContinuation<Element?, Never>) in
                let next: ReceiveAction = state.withLock { state in
                    if let first = state.buffer.popFirst() {
                        if let producer = state.producers.popFirst() {
                            state.buffer.append(producer.element)
                            return .value(first, producer.continuation)
                        }
                        return .value(first, nil)
                    }
                    if state.closed { return .closed }
                    state.consumer = continuation
                    return .wait
                }
                switch next {
                case .value(let element, let producer):
                    producer?.resume()
                    continuation.resume(returning: element)
                case .closed:
                    continuation.resume(returning: nil)
                case .wait:
                    break
                }
            }
        }
    }

    /// Closes the channel: waiting producers return, the consumer drains what is buffered and then
    /// receives `nil`. Used when a pipeline fails or is cancelled.
    func close() {
        let (consumer, producers): (CheckedContinuation<Element?, Never>?, [CheckedContinuation<Void, Never>]) =
            state.withLock { state in
                state.closed = true
                let consumer = state.buffer.isEmpty ? state.consumer : nil
                if consumer != nil { state.consumer = nil }
                let producers = state.producers.map(\.continuation)
                state.producers.removeAll()
                return (consumer, producers)
            }
        consumer?.resume(returning: nil)
        for producer in producers { producer.resume() }
    }
}

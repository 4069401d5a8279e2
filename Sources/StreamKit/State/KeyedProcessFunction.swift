/// The extension point for your own stateful operators: a function called for each element of a
/// keyed stream, with the state of the element's key and event-time timers.
///
/// StreamKit keeps `State` per key and snapshots it in checkpoints; making it `Codable` is all an
/// operator needs to do to survive a crash. A timer set with
/// ``KeyedProcessContext/setTimer(at:)`` calls ``onTimer(at:context:)`` once the watermark reaches
/// its time, with the same key's state: use it to emit results and to clear state that is no longer
/// needed (state without a timer lives forever).
///
/// ```swift
/// struct StuckSensor: KeyedProcessFunction {
///     struct State: Codable, Sendable { var value: Int; var since: Timestamp }
///     func process(_ reading: Reading, context: inout KeyedProcessContext<String, State, Alert>) {
///         if let state = context.state, state.value == reading.value {
///             if context.timestamp - state.since >= .minutes(5) { context.emit(Alert(sensor: context.key)) }
///         } else {
///             context.state = State(value: reading.value, since: context.timestamp)
///         }
///     }
/// }
/// ```
public protocol KeyedProcessFunction<Key, Input, Output>: Sendable {
    /// The key type of the stream.
    associatedtype Key: Hashable & Sendable & Codable
    /// The element type consumed.
    associatedtype Input: Sendable
    /// The element type emitted.
    associatedtype Output: Sendable
    /// The state kept per key; `Codable` so that checkpoints can store it.
    associatedtype State: Codable & Sendable

    /// Handles one element of key `context.key`.
    /// - Throws: Any error: the element goes to the operator's error output with it as the reason.
    func process(_ input: Input, context: inout KeyedProcessContext<Key, State, Output>) throws

    /// Handles a timer of key `context.key` whose time the watermark has reached.
    func onTimer(at time: Timestamp, context: inout KeyedProcessContext<Key, State, Output>) throws
}

extension KeyedProcessFunction {
    /// Does nothing: functions that set no timer need not implement it.
    public func onTimer(at time: Timestamp, context: inout KeyedProcessContext<Key, State, Output>) throws {}
}

/// What a ``KeyedProcessFunction`` sees and does for one element or timer: the key, its state, the
/// time, and the outputs and timers it produces.
public struct KeyedProcessContext<Key: Hashable & Sendable, State, Output> {
    /// The key of the element or timer.
    public let key: Key
    /// The key's state; `nil` until set. Set it to `nil` to drop the key's state.
    public var state: State?
    /// The event time of the element, or the time of the timer.
    public let timestamp: Timestamp
    /// The watermark: no element older than this is on time any more.
    public let watermark: Timestamp

    var outputs: [(Output, Timestamp)] = []
    var timersToSet: [Timestamp] = []
    var timersToDelete: [Timestamp] = []

    init(key: Key, state: State?, timestamp: Timestamp, watermark: Timestamp) {
        self.key = key
        self.state = state
        self.timestamp = timestamp
        self.watermark = watermark
    }

    /// Emits an element downstream, with the event time `time` (default: ``timestamp``).
    public mutating func emit(_ output: Output, at time: Timestamp? = nil) {
        outputs.append((output, time ?? timestamp))
    }

    /// Asks for ``KeyedProcessFunction/onTimer(at:context:)`` once the watermark reaches `time`.
    /// Setting the same time twice for a key sets one timer.
    public mutating func setTimer(at time: Timestamp) {
        timersToSet.append(time)
    }

    /// Cancels a timer set earlier for this key.
    public mutating func deleteTimer(at time: Timestamp) {
        timersToDelete.append(time)
    }
}

/// A half-open interval of event time, [start, end): an element at exactly `end` belongs to the
/// next window.
public struct Window: Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
    /// The first instant in the window.
    public var start: Timestamp
    /// The first instant after the window.
    public var end: Timestamp

    /// Creates a window.
    @inlinable
    public init(start: Timestamp, end: Timestamp) {
        self.start = start
        self.end = end
    }

    /// Whether `time` lies in the window.
    @inlinable
    public func contains(_ time: Timestamp) -> Bool { start <= time && time < end }

    /// The last instant in the window: the event time of its result.
    @inlinable
    public var maxTimestamp: Timestamp { end.advanced(by: -1) }

    /// Orders windows by end, then start.
    @inlinable
    public static func < (lhs: Window, rhs: Window) -> Bool {
        (lhs.end, lhs.start) < (rhs.end, rhs.start)
    }

    /// `[start, end)` in ISO 8601.
    public var description: String { "[\(start), \(end))" }
}

/// The result of a window for one key.
public struct WindowResult<Key: Sendable, Value: Sendable>: Sendable {
    /// The key.
    public var key: Key
    /// The window.
    public var window: Window
    /// The aggregate over the key's elements in the window.
    public var value: Value

    /// Creates a result.
    @inlinable
    public init(key: Key, window: Window, value: Value) {
        self.key = key
        self.window = window
        self.value = value
    }
}

extension WindowResult: Equatable where Key: Equatable, Value: Equatable {}
extension WindowResult: Hashable where Key: Hashable, Value: Hashable {}
extension WindowResult: Codable where Key: Codable, Value: Codable {}

extension WindowResult: CustomStringConvertible {
    /// The key, the window and the value.
    public var description: String { "\(key) \(window): \(value)" }
}

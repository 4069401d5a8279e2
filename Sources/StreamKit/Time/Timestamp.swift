import Foundation

/// An instant in event time or processing time: microseconds since the Unix epoch, in UTC.
///
/// StreamKit has one timestamp type and one unit everywhere. Arithmetic saturates at
/// ``Timestamp/min`` and ``Timestamp/max``, which stand for minus and plus infinity: the end of a
/// bounded input is a watermark at ``Timestamp/max``.
///
/// ```swift
/// let t = try Timestamp(iso8601: "2024-01-01T13:45:12.123456")   // no offset: UTC
/// let later = t + .seconds(5)
/// ```
@frozen
public struct Timestamp: Hashable, Comparable, Sendable {
    /// Microseconds since 1970-01-01T00:00:00Z.
    public var microseconds: Int64

    /// Creates a timestamp from microseconds since the Unix epoch.
    @inlinable
    public init(microseconds: Int64) {
        self.microseconds = microseconds
    }

    /// Creates a timestamp from milliseconds since the Unix epoch (the unit of Kafka and MQTT clients).
    @inlinable
    public init(milliseconds: Int64) {
        self.microseconds =
            milliseconds.multipliedReportingOverflow(by: 1000).overflow
            ? (milliseconds < 0 ? .min : .max) : milliseconds * 1000
    }

    /// Creates a timestamp from whole seconds since the Unix epoch.
    @inlinable
    public init(seconds: Int64) {
        self.microseconds =
            seconds.multipliedReportingOverflow(by: 1_000_000).overflow
            ? (seconds < 0 ? .min : .max) : seconds * 1_000_000
    }

    /// Creates a timestamp from a Foundation date, rounded to the nearest microsecond.
    public init(_ date: Date) {
        self.microseconds = Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
    }

    /// The earliest timestamp: the watermark before any element has been seen.
    public static let min = Timestamp(microseconds: .min)
    /// The latest timestamp: the final watermark at the end of a bounded input.
    public static let max = Timestamp(microseconds: .max)

    /// The current wall-clock time.
    public static var now: Timestamp { Timestamp(Date()) }

    /// The same instant as a Foundation date.
    public var date: Date { Date(timeIntervalSince1970: Double(microseconds) / 1_000_000) }

    /// Milliseconds since the Unix epoch, rounded towards minus infinity.
    @inlinable
    public var milliseconds: Int64 { microseconds.floorDivided(by: 1000) }

    /// Whether `lhs` is earlier than `rhs`.
    @inlinable
    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.microseconds < rhs.microseconds }

    /// The instant `duration` later, saturating at ``Timestamp/max`` and ``Timestamp/min``.
    @inlinable
    public static func + (lhs: Timestamp, rhs: Duration) -> Timestamp {
        lhs.advanced(by: rhs.streamKitMicroseconds)
    }

    /// The instant `duration` earlier, saturating at ``Timestamp/max`` and ``Timestamp/min``.
    @inlinable
    public static func - (lhs: Timestamp, rhs: Duration) -> Timestamp {
        lhs.advanced(by: -rhs.streamKitMicroseconds)
    }

    /// The time from `rhs` to `lhs`.
    @inlinable
    public static func - (lhs: Timestamp, rhs: Timestamp) -> Duration {
        .microseconds(lhs.microseconds &- rhs.microseconds)
    }

    /// The instant `delta` microseconds later; saturates instead of overflowing, so that the
    /// infinities stay infinite.
    @inlinable
    public func advanced(by delta: Int64) -> Timestamp {
        if microseconds == .max || microseconds == .min { return self }
        let (sum, overflow) = microseconds.addingReportingOverflow(delta)
        if overflow { return delta > 0 ? .max : .min }
        return Timestamp(microseconds: sum)
    }
}

extension Timestamp: CustomStringConvertible {
    /// The instant in ISO 8601 with microseconds and a `Z`, or `-inf` / `+inf` for the infinities.
    public var description: String {
        if self == .min { return "-inf" }
        if self == .max { return "+inf" }
        return iso8601
    }
}

extension Timestamp: Codable {
    /// Decodes an ISO 8601 string (see ``Timestamp/init(iso8601:defaultOffsetSeconds:)``) or an integer number of
    /// microseconds since the epoch.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let micros = try? container.decode(Int64.self) {
            self.init(microseconds: micros)
            return
        }
        let text = try container.decode(String.self)
        do {
            try self.init(iso8601: text)
        } catch {
            throw DecodingError.dataCorruptedError(
                in: container,
                debugDescription: "\(error)"
            )
        }
    }

    /// Encodes the instant as an ISO 8601 string in UTC with microseconds; the infinities
    /// (``Timestamp/min``, ``Timestamp/max``), which have no date, as integers.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if self == .min || self == .max {
            try container.encode(microseconds)
        } else {
            try container.encode(iso8601)
        }
    }
}

extension Int64 {
    /// Division rounding towards minus infinity, so that negative times land in the right window.
    @inlinable
    func floorDivided(by divisor: Int64) -> Int64 {
        let q = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? q - 1 : q
    }
}

/// A record that could not be decoded or failed validation, as it reaches an error side output.
///
/// Bad input never stops a pipeline and never vanishes: the operator that rejects a record emits an
/// `ErrorRecord` with the reason and the raw input, and counts it.
public struct ErrorRecord: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The operator or source that rejected the record, by its name in the pipeline.
    public var origin: String
    /// Why the record was rejected.
    public var reason: String
    /// The raw input: the line of a file, an MQTT payload, a Kafka value.
    public var raw: [UInt8]
    /// Where the record came from: a file path, a topic, a partition.
    public var location: String?
    /// The line number in a file, counting from 1.
    public var line: Int?
    /// When the record was received, for records that know it (``RawRecord/rawTime``), else when it
    /// was rejected (processing time). A record replayed after a crash keeps the time it arrived.
    public var time: Timestamp

    /// Creates an error record.
    public init(
        origin: String,
        reason: String,
        raw: [UInt8],
        location: String? = nil,
        line: Int? = nil,
        time: Timestamp = .now
    ) {
        self.origin = origin
        self.reason = reason
        self.raw = raw
        self.location = location
        self.line = line
        self.time = time
    }

    /// The raw input as text, with invalid UTF-8 repaired.
    public var rawText: String { String(decoding: raw, as: UTF8.self) }

    /// One line: origin, location, line, reason and the raw text.
    public var description: String {
        var place = origin
        if let location { place += " \(location)" }
        if let line { place += ":\(line)" }
        return "\(place): \(reason) — raw: \(rawText)"
    }
}

/// An element that carries the raw input it was read from, so that an operator that rejects it
/// can keep the original bytes and where they came from in the ``ErrorRecord``.
public protocol RawRecord {
    /// The raw input: an MQTT payload, a Kafka value, a line of a file.
    var rawBytes: [UInt8] { get }
    /// Where the input came from: a topic, a partition, a file.
    var rawLocation: String? { get }
    /// The line number in a file, counting from 1, if the record knows it.
    var rawLine: Int? { get }
    /// When the input arrived (processing time), if the record knows: the time of the rejected
    /// record in the error output.
    var rawTime: Timestamp? { get }
}

extension RawRecord {
    /// Unknown.
    public var rawLine: Int? { nil }
    /// Unknown: the error output records when the record was rejected.
    public var rawTime: Timestamp? { nil }
}

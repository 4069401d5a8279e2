import Foundation
import StreamKit

/// One record of a ``RawLog``: a request body as it was received, with its identity.
public struct RawLogRecord: Sendable, Hashable, RawRecord {
    /// The record's id: its line number in the log, from 1.
    public var id: Int64
    /// When the record arrived.
    public var received: Timestamp
    /// The SHA-256 of the body, in lowercase hex.
    public var sha256: String
    /// The body, byte for byte.
    public var body: [UInt8]

    /// Creates a record.
    public init(id: Int64, received: Timestamp, sha256: String, body: [UInt8]) {
        self.id = id
        self.received = received
        self.sha256 = sha256
        self.body = body
    }

    /// The body.
    public var rawBytes: [UInt8] { body }

    /// `raw-log#<id>`: where an error record came from.
    public var rawLocation: String? { "raw-log#\(id)" }
}

/// A line of the log file as stored.
struct RawLogLine: Decodable {
    var id: Int64
    var received: Timestamp
    var sha256: String
    var body: String?
    var bodyBase64: Data?

    var record: RawLogRecord {
        get throws {
            let bytes: [UInt8]
            if let body {
                bytes = Array(body.utf8)
            } else if let bodyBase64 {
                bytes = Array(bodyBase64)
            } else {
                throw DecodingError.keyNotFound(
                    AnyCodingKey("body"),
                    .init(codingPath: [], debugDescription: "a raw log line needs 'body' or 'bodyBase64'")
                )
            }
            return RawLogRecord(id: id, received: received, sha256: sha256, body: bytes)
        }
    }
}

/// A coding key made from a string.
struct AnyCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension RawLogRecord {
    /// The id of the raw record an error record was made from (by `tryMap` or a decoding source,
    /// which keep the record's ``rawLocation``), or `nil` when it came from elsewhere.
    public static func id(in error: ErrorRecord) -> Int64? {
        guard let location = error.location, location.hasPrefix("raw-log#") else { return nil }
        return Int64(location.dropFirst("raw-log#".count))
    }
}

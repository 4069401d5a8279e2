import Foundation
import StreamKit
import StreamKitHTTP

/// One accepted dropzone payload, converted to UTC, with its statistics and its lineage.
///
/// The payload is `{"time_stamp": "2019-05-01T06:00:00-04:00", "data": [0.93, 1.2, …]}`:
/// `time_stamp` is ISO 8601 with an explicit UTC offset (`Z`, `+05:30`, `-04:00`), and `data` a
/// non-empty array of finite numbers. Both standard deviations are kept: `stdPopulation` treats the
/// values as the whole population (divides by n), `stdSample` as a sample of a larger one (divides
/// by n − 1; `nil` for a single value).
public struct DropzoneMeasurement: Sendable, Hashable, Codable {
    /// The instant, in UTC: the key of the measurements table.
    public var utc: Timestamp
    /// The `time_stamp` as it was sent.
    public var timeStamp: String
    /// How many values.
    public var count: Int
    /// Their mean.
    public var mean: Double
    /// Their standard deviation as a population (divides by n).
    public var stdPopulation: Double
    /// Their standard deviation as a sample (divides by n − 1); `nil` for one value.
    public var stdSample: Double?
    /// The smallest value.
    public var min: Double
    /// The largest value.
    public var max: Double
    /// The raw record's id in the raw store.
    public var rawID: Int64
    /// The SHA-256 of the raw body.
    public var sha256: String
    /// When the raw body arrived.
    public var received: Timestamp

    /// The largest number of values a payload may hold.
    public static let maximumValues = 100_000

    /// The largest magnitude a value may have: with at most ``maximumValues`` values within ±1e150,
    /// the sum of squared deviations stays below 4e305, so every statistic is a finite double.
    public static let maximumMagnitude = 1e150

    /// Validates and converts a raw record.
    /// - Throws: ``IngestRejection`` with the status and the precise reason.
    public init(_ record: RawLogRecord) throws(IngestRejection) {
        try self.init(
            payload: try Self.parse(record.body),
            rawID: record.id,
            sha256: record.sha256,
            received: record.received
        )
    }

    /// Computes the statistics of a validated payload: mean, standard deviations (Welford, as
    /// StreamKit's aggregates), minimum and maximum.
    /// - Throws: ``IngestRejection`` (422) when a statistic is not a finite number: values whose
    ///   spread overflows a double (as `[-1.7e308, 1.7e308]`). ``parse(_:)`` refuses values beyond
    ///   ±1e150 first, so this is a safety net: such a record is refused, never stored, and the tables
    ///   and the API hold finite numbers only.
    public init(payload: Payload, rawID: Int64, sha256: String, received: Timestamp) throws(IngestRejection) {
        var accumulator = WelfordAccumulator(first: payload.data[0])
        var low = payload.data[0]
        var high = payload.data[0]
        for value in payload.data.dropFirst() {
            accumulator.add(value)
            low = Swift.min(low, value)
            high = Swift.max(high, value)
        }
        utc = payload.utc
        timeStamp = payload.timeStamp
        count = accumulator.count
        mean = accumulator.mean
        stdPopulation = accumulator.variance(.population).squareRoot()
        stdSample = accumulator.count > 1 ? accumulator.variance(.sample).squareRoot() : nil
        min = low
        max = high
        self.rawID = rawID
        self.sha256 = sha256
        self.received = received
        if let rejection = nonFiniteRejection { throw rejection }
    }

    /// Why the statistics cannot be stored, or `nil` when they are all finite.
    var nonFiniteRejection: IngestRejection? {
        var broken: [String] = []
        for (name, value) in [("mean", mean), ("std_population", stdPopulation), ("std_sample", stdSample ?? 0)]
        where !value.isFinite {
            broken.append("\(name) = \(value)")
        }
        guard !broken.isEmpty else { return nil }
        return IngestRejection(
            status: 422,
            reason: "the statistics of data overflow a double (\(broken.joined(separator: ", "))): "
                + "send values within ±1e150 (scale them)"
        )
    }

    /// The `time_stamp` and `data` of a body that passed validation.
    public struct Payload: Sendable {
        /// The instant, in UTC.
        public var utc: Timestamp
        /// The `time_stamp` as sent.
        public var timeStamp: String
        /// The values.
        public var data: [Double]
    }

    private struct TimeStampOnly: Decodable {
        var time_stamp: String
    }

    /// The instant a body names, when its `time_stamp` can be read, whatever is wrong with the
    /// rest: where a refused record stands in the lineage.
    public static func instant(of body: [UInt8]) -> (utc: Timestamp, timeStamp: String)? {
        guard let text = try? JSONDecoder().decode(TimeStampOnly.self, from: Data(body)).time_stamp,
            let utc = try? Timestamp(iso8601: text, defaultOffsetSeconds: nil)
        else { return nil }
        return (utc, text)
    }

    private struct Body: Decodable {
        var time_stamp: String
        var data: [Double]
    }

    /// The check of the ingest endpoint: the reason a body is refused, or `nil` when it is valid
    /// and its statistics are finite. The pipeline applies the same rules to the stored body.
    public static func check(_ body: [UInt8]) -> IngestRejection? {
        do throws(IngestRejection) {
            _ = try DropzoneMeasurement(payload: try parse(body), rawID: 0, sha256: "", received: .now)
            return nil
        } catch {
            return error
        }
    }

    /// Validates a body: 400 when it is not JSON, 422 when its content is wrong.
    public static func parse(_ body: [UInt8]) throws(IngestRejection) -> Payload {
        try parse(body, fastPath: true)
    }

    /// Validates a body, with or without the fast path for common payloads (the tests compare both).
    static func parse(_ body: [UInt8], fastPath: Bool) throws(IngestRejection) -> Payload {
        let decoded: Body
        if fastPath, let fast = body.withUnsafeBufferPointer(PayloadScanner.scan) {
            decoded = Body(time_stamp: fast.timeStamp, data: fast.data)
        } else {
            do {
                decoded = try JSONDecoder().decode(Body.self, from: Data(body))
            } catch {
                throw rejection(for: error, body: body)
            }
        }
        let utc: Timestamp
        var text = decoded.time_stamp
        switch text.withUTF8({ Timestamp.parseISO8601($0, defaultOffsetSeconds: nil) }) {
        case .success(let instant): utc = instant
        case .failure(let failure):
            if failure.reason.contains("UTC offset") {
                throw IngestRejection(
                    status: 422,
                    reason: "time_stamp '\(text)' has no UTC offset: add one, as in 2019-05-01T06:00:00-04:00 or …Z"
                )
            }
            throw IngestRejection(
                status: 422,
                reason: "time_stamp '\(text)' is not an ISO 8601 date-time with offset: \(failure.reason)"
            )
        }
        guard !decoded.data.isEmpty else {
            throw IngestRejection(status: 422, reason: "data is empty: send at least one number")
        }
        guard decoded.data.count <= maximumValues else {
            throw IngestRejection(
                status: 422,
                reason: "data holds \(decoded.data.count) values: at most \(maximumValues) are accepted"
            )
        }
        if let index = decoded.data.firstIndex(where: { !$0.isFinite }) {
            throw IngestRejection(status: 422, reason: "data[\(index)] is not a finite number")
        }
        if let index = decoded.data.firstIndex(where: { abs($0) > maximumMagnitude }) {
            throw IngestRejection(
                status: 422,
                reason: "data[\(index)] = \(decoded.data[index]) is beyond ±1e150: send values within ±1e150 "
                    + "(scale them), so that their mean and standard deviation stay finite"
            )
        }
        return Payload(utc: utc, timeStamp: decoded.time_stamp, data: decoded.data)
    }

    /// A precise reason for a body that did not decode.
    static func rejection(for error: any Error, body: [UInt8]) -> IngestRejection {
        guard let error = error as? DecodingError else {
            return IngestRejection(status: 400, reason: "invalid JSON: \(error)")
        }
        func field(_ path: [any CodingKey]) -> String {
            var text = ""
            for key in path {
                if let index = key.intValue {
                    text += "[\(index)]"
                } else {
                    text += (text.isEmpty ? "" : ".") + key.stringValue
                }
            }
            return text
        }
        switch error {
        case .keyNotFound(let key, let context):
            let parent = field(context.codingPath)
            return IngestRejection(
                status: 422,
                reason: "missing field '\(parent.isEmpty ? "" : parent + ".")\(key.stringValue)': "
                    + #"send {"time_stamp": "<ISO 8601 with offset>", "data": [numbers]}"#
            )
        case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
            let path = field(context.codingPath)
            let expected = type == Double.self ? "a number" : type == String.self ? "a string" : "\(type)"
            if path.isEmpty {
                return IngestRejection(
                    status: 422,
                    reason: "the body must be a JSON object, not \(context.debugDescription)"
                )
            }
            return IngestRejection(status: 422, reason: "\(path) must be \(expected)")
        case .dataCorrupted(let context):
            if !context.codingPath.isEmpty {
                return IngestRejection(
                    status: 422,
                    reason: "\(field(context.codingPath)) is not a finite number: \(context.debugDescription)"
                )
            }
            // JSONDecoder does not say where JSON is broken; JSONSerialization does.
            var detail = context.debugDescription
            do {
                _ = try JSONSerialization.jsonObject(with: Data(body), options: .fragmentsAllowed)
            } catch {
                if let text = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String { detail = text }
            }
            if detail.contains("not representable") {
                return IngestRejection(status: 422, reason: "data must hold finite numbers: \(detail)")
            }
            let text = String(decoding: body, as: UTF8.self)
            if text.contains("NaN") || text.contains("Infinity") {
                return IngestRejection(
                    status: 400,
                    reason: "invalid JSON: NaN and Infinity are not JSON numbers; data must hold finite numbers"
                )
            }
            return IngestRejection(status: 400, reason: "invalid JSON: \(detail)")
        @unknown default:
            return IngestRejection(status: 400, reason: "invalid JSON: \(error)")
        }
    }
}

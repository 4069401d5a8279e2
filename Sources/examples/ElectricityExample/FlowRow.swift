import StreamKit

/// The eight cross-border flows of the Swiss Federal Office of Energy's file (ogd107), in its
/// column order: four imports into Switzerland, then four exports.
public enum Flow: Int, CaseIterable, Sendable, Codable {
    case austriaToSwitzerland, germanyToSwitzerland, franceToSwitzerland, italyToSwitzerland
    case switzerlandToAustria, switzerlandToGermany, switzerlandToFrance, switzerlandToItaly

    /// The column's name in the file, such as `AT_CH_MWh`.
    public var column: String {
        ["AT_CH_MWh", "DE_CH_MWh", "FR_CH_MWh", "IT_CH_MWh", "CH_AT_MWh", "CH_DE_MWh", "CH_FR_MWh", "CH_IT_MWh"][
            rawValue
        ]
    }

    /// Whether the flow goes into Switzerland.
    public var isImport: Bool { rawValue < 4 }

    /// The partner country, such as `DE`.
    public var partner: String { ["AT", "DE", "FR", "IT"][rawValue % 4] }
}

/// One hourly row of the file: the instant (UTC) and the eight flows in MWh.
public struct FlowRow: Sendable, Codable, Hashable {
    /// The start of the hour, as an instant.
    public var time: Timestamp
    /// The flows in MWh, indexed by ``Flow/rawValue``.
    public var flows: [Double]

    /// Creates a row.
    public init(time: Timestamp, flows: [Double]) {
        self.time = time
        self.flows = flows
    }

    /// The header of the file.
    public static let header = "Datetime," + Flow.allCases.map(\.column).joined(separator: ",") + ",Nettoimport"

    /// Reads one line of the file: `2017-01-01T00:00:00+0100,793,2953,0,1110,0,566,1451,0,2839`.
    /// The timestamp needs its offset, with or without a colon (the file writes `+0100`); the last
    /// column (the file's own net import) is not read, since net import is computed. A trailing
    /// carriage return is ignored.
    /// - Throws: ``FlowRowError`` with what is wrong with the line.
    public static func parse(_ line: some StringProtocol) throws(FlowRowError) -> FlowRow {
        var text = String(line)
        return try text.withUTF8 { parse(bytes: $0) }.get()
    }

    /// Reads one line of the file from its UTF-8 bytes, without allocating anything but the row's
    /// flows (and, for numbers in an unusual notation, their text).
    public static func parse(bytes: UnsafeBufferPointer<UInt8>) -> Result<FlowRow, FlowRowError> {
        var end = bytes.count
        if end > 0 && bytes[end - 1] == 13 { end -= 1 }
        // The field boundaries: up to ten fields need nine commas.
        var commas = (0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &commas) { raw in
            let positions = raw.bindMemory(to: Int.self)
            for index in 0..<end where bytes[index] == 44 {
                if count < 9 { positions[count] = index }
                count += 1
            }
        }
        guard count == 9 else {
            return .failure(FlowRowError(reason: "expected 10 comma-separated fields, found \(count + 1)"))
        }
        return withUnsafeBytes(of: commas) { raw in
            let positions = raw.bindMemory(to: Int.self)
            let time: Timestamp
            let stamp = UnsafeBufferPointer(rebasing: bytes[0..<positions[0]])
            if let parsed = fileTime(stamp) {
                time = parsed
            } else if case .success(let parsed) = Timestamp.parseISO8601(stamp, defaultOffsetSeconds: nil) {
                time = parsed
            } else {
                return .failure(
                    FlowRowError(
                        reason: "'\(String(decoding: stamp, as: UTF8.self))' is not a timestamp with an offset"
                    )
                )
            }
            var flows = [Double](repeating: 0, count: 8)
            for index in 0..<8 {
                let field = UnsafeBufferPointer(rebasing: bytes[(positions[index] + 1)..<positions[index + 1]])
                guard let value = number(field), value.isFinite, value >= 0 else {
                    let text = String(decoding: field, as: UTF8.self)
                    return .failure(
                        FlowRowError(reason: "\(Flow(rawValue: index)!.column) is '\(text)', not a non-negative number")
                    )
                }
                flows[index] = value
            }
            return .success(FlowRow(time: time, flows: flows))
        }
    }

    /// Reads the file's timestamp layout, `2017-01-01T00:00:00+0100` (or `+01:00`), directly: the
    /// instant, or `nil` for anything else (which the general ISO 8601 parser then reads or
    /// rejects).
    static func fileTime(_ text: UnsafeBufferPointer<UInt8>) -> Timestamp? {
        guard text.count == 24 || text.count == 25 else { return nil }
        var valid = true
        func number(_ from: Int, _ count: Int) -> Int {
            var value = 0
            for index in from..<(from + count) {
                let digit = Int(text[index]) &- 48
                if digit < 0 || digit > 9 { valid = false }
                value = value &* 10 &+ digit
            }
            return value
        }
        let year = number(0, 4)
        let month = number(5, 2)
        let day = number(8, 2)
        let hour = number(11, 2)
        let minute = number(14, 2)
        let second = number(17, 2)
        let offsetHours = number(20, 2)
        let offsetMinutes = number(text.count == 25 ? 23 : 22, 2)
        let sign = text[19]
        guard valid, text[4] == 45, text[7] == 45, text[10] == 84, text[13] == 58, text[16] == 58,
            sign == 43 || sign == 45, text.count == 24 || text[22] == 58,
            (1...12).contains(month), day >= 1, day <= CivilDate.days(inMonth: month, of: year),
            hour <= 23, minute <= 59, second <= 59, offsetHours <= 23, offsetMinutes <= 59
        else { return nil }
        let days = CivilDate(year: year, month: month, day: day).daysSinceEpoch
        let offset = (offsetHours * 3600 + offsetMinutes * 60) * (sign == 43 ? 1 : -1)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset
        return Timestamp(microseconds: Int64(seconds) * 1_000_000)
    }

    /// Reads a number: digits with an optional fraction (`2953`, `2293.75`) directly and exactly
    /// (an integer mantissa below 2^53 divided by an exact power of ten is correctly rounded, the
    /// same `Double` as `Double(String)` gives); anything else through `Double(String)`.
    static func number(_ field: UnsafeBufferPointer<UInt8>) -> Double? {
        var mantissa: UInt64 = 0
        var digits = 0
        var fractionDigits = 0
        var seenPoint = false
        for byte in field {
            if byte >= 48 && byte <= 57 {
                mantissa = mantissa &* 10 &+ UInt64(byte &- 48)
                digits += 1
                if seenPoint { fractionDigits += 1 }
            } else if byte == 46 && !seenPoint {
                seenPoint = true
            } else {
                return Double(String(decoding: field, as: UTF8.self))
            }
        }
        guard digits > 0, digits <= 15 else { return Double(String(decoding: field, as: UTF8.self)) }
        // 10^k is exact as a `Double` for k ≤ 22; at most 15 digits here.
        var power = 1.0
        for _ in 0..<fractionDigits { power *= 10 }
        return Double(mantissa) / power
    }

    /// The imports into Switzerland in the hour.
    public var imports: Double { flows[0..<4].reduce(0, +) }
    /// The exports from Switzerland in the hour.
    public var exports: Double { flows[4..<8].reduce(0, +) }
}

/// Why a line of the file cannot be read.
public struct FlowRowError: Error, CustomStringConvertible {
    /// What is wrong.
    public var reason: String
    /// The reason.
    public var description: String { reason }
}

/// Parsing and formatting of ISO 8601 timestamps, written by hand because the per-record decode path
/// of the connectors must not allocate a formatter or a `Date`.
extension Timestamp {
    /// Parses an ISO 8601 date-time.
    ///
    /// Accepts `YYYY-MM-DDTHH:MM[:SS[.fraction]]` with a `T` or a space, and an optional offset:
    /// `Z`, `+HH:MM`, `+HHMM` or `+HH`. Fractions keep up to six digits (microseconds).
    ///
    /// - Parameters:
    ///   - text: The text to parse.
    ///   - defaultOffsetSeconds: The offset applied when the text has none. `0` (the default)
    ///     reads such text as UTC; pass `nil` to reject text without an offset.
    /// - Throws: ``StreamKitError`` with code ``StreamKitError/Code/invalidTimestamp`` that names
    ///   the position and what was expected.
    public init(iso8601 text: String, defaultOffsetSeconds: Int? = 0) throws {
        var text = text
        let parsed = text.withUTF8 { Timestamp.parseISO8601($0, defaultOffsetSeconds: defaultOffsetSeconds) }
        switch parsed {
        case .success(let timestamp): self = timestamp
        case .failure(let failure):
            throw StreamKitError(
                code: .invalidTimestamp,
                message: "'\(text)' is not an ISO 8601 timestamp: \(failure.reason)"
            )
        }
    }

    /// The reason an ISO 8601 parse failed.
    public struct ISO8601Failure: Error, Sendable {
        /// What was wrong, in words.
        public var reason: String
    }

    /// Parses ISO 8601 from UTF-8 bytes without allocating; see ``init(iso8601:defaultOffsetSeconds:)``.
    public static func parseISO8601(
        _ bytes: UnsafeBufferPointer<UInt8>,
        defaultOffsetSeconds: Int? = 0
    ) -> Result<Timestamp, ISO8601Failure> {
        var index = 0
        let count = bytes.count

        func digits(_ n: Int) -> Int? {
            guard index + n <= count else { return nil }
            var value = 0
            for i in index..<(index + n) {
                let d = Int(bytes[i]) &- 48
                guard d >= 0 && d <= 9 else { return nil }
                value = value * 10 + d
            }
            index += n
            return value
        }
        func expect(_ byte: UInt8) -> Bool {
            guard index < count, bytes[index] == byte else { return false }
            index += 1
            return true
        }
        func fail(_ what: String) -> Result<Timestamp, ISO8601Failure> {
            .failure(ISO8601Failure(reason: "expected \(what) at character \(index + 1)"))
        }

        guard let year = digits(4) else { return fail("a four-digit year") }
        guard expect(UInt8(ascii: "-")) else { return fail("'-' after the year") }
        guard let month = digits(2), (1...12).contains(month) else { return fail("a month 01-12") }
        guard expect(UInt8(ascii: "-")) else { return fail("'-' after the month") }
        guard let day = digits(2), day >= 1, day <= daysInMonth(year: year, month: month) else {
            return fail("a day that exists in \(year)-\(month < 10 ? "0" : "")\(month)")
        }
        guard index < count, bytes[index] == UInt8(ascii: "T") || bytes[index] == UInt8(ascii: " ") else {
            return fail("'T' between date and time")
        }
        index += 1
        guard let hour = digits(2), hour <= 23 else { return fail("an hour 00-23") }
        guard expect(UInt8(ascii: ":")) else { return fail("':' after the hour") }
        guard let minute = digits(2), minute <= 59 else { return fail("a minute 00-59") }
        var second = 0
        var micros = 0
        if expect(UInt8(ascii: ":")) {
            guard let s = digits(2), s <= 60 else { return fail("a second 00-59") }
            second = s
            if index < count, bytes[index] == UInt8(ascii: ".") || bytes[index] == UInt8(ascii: ",") {
                index += 1
                var scale = 100_000
                var any = false
                while index < count, bytes[index] >= 48, bytes[index] <= 57 {
                    micros += Int(bytes[index] - 48) * scale
                    scale /= 10
                    index += 1
                    any = true
                }
                guard any else { return fail("digits after the decimal point") }
            }
        }
        var offset: Int
        if index == count {
            guard let fallback = defaultOffsetSeconds else {
                return fail("a UTC offset (Z, +HH:MM or -HH:MM)")
            }
            offset = fallback
        } else if bytes[index] == UInt8(ascii: "Z") || bytes[index] == UInt8(ascii: "z") {
            index += 1
            offset = 0
        } else if bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
            let sign = bytes[index] == UInt8(ascii: "-") ? -1 : 1
            index += 1
            guard let oh = digits(2), oh <= 18 else { return fail("offset hours 00-18") }
            var om = 0
            if index < count {
                _ = expect(UInt8(ascii: ":"))
                guard let m = digits(2), m <= 59 else { return fail("offset minutes 00-59") }
                om = m
            }
            offset = sign * (oh * 3600 + om * 60)
        } else {
            return fail("Z, an offset or the end of the text")
        }
        guard index == count else { return fail("the end of the text") }

        let days = daysFromCivil(year: year, month: month, day: day)
        let secondsOfDay = hour * 3600 + minute * 60 + second
        let total = Int64(days) * 86_400 + Int64(secondsOfDay) - Int64(offset)
        return .success(Timestamp(microseconds: total * 1_000_000 + Int64(micros)))
    }

    /// The instant in ISO 8601, UTC, with six fractional digits: `2024-01-01T13:45:12.123456Z`;
    /// `-inf` and `+inf` for ``Timestamp/min`` and ``Timestamp/max``.
    public var iso8601: String {
        if self == .min { return "-inf" }
        if self == .max { return "+inf" }
        let seconds = microseconds.floorDivided(by: 1_000_000)
        let micros = Int(microseconds - seconds * 1_000_000)
        let days = seconds.floorDivided(by: 86_400)
        let secondOfDay = Int(seconds - days * 86_400)
        let (y, m, d) = Timestamp.civilFromDays(Int(days))
        guard (0...9999).contains(y) else {
            func pad(_ v: Int, _ width: Int) -> String {
                let s = String(v)
                return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
            }
            let year = y < 0 ? "-" + pad(-y, 4) : pad(y, 4)
            return "\(year)-\(pad(m, 2))-\(pad(d, 2))T\(pad(secondOfDay / 3600, 2)):"
                + "\(pad(secondOfDay / 60 % 60, 2)):\(pad(secondOfDay % 60, 2)).\(pad(micros, 6))Z"
        }
        // The usual case, written digit by digit into the string's storage: sinks format a time
        // per row, and interpolation costs a dozen allocations.
        return String(unsafeUninitializedCapacity: 27) { buffer in
            func put(_ value: Int, width: Int, at end: Int) {
                var value = value
                for index in stride(from: end - 1, through: end - width, by: -1) {
                    buffer[index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: value % 10)
                    value /= 10
                }
            }
            put(y, width: 4, at: 4)
            buffer[4] = UInt8(ascii: "-")
            put(m, width: 2, at: 7)
            buffer[7] = UInt8(ascii: "-")
            put(d, width: 2, at: 10)
            buffer[10] = UInt8(ascii: "T")
            put(secondOfDay / 3600, width: 2, at: 13)
            buffer[13] = UInt8(ascii: ":")
            put(secondOfDay / 60 % 60, width: 2, at: 16)
            buffer[16] = UInt8(ascii: ":")
            put(secondOfDay % 60, width: 2, at: 19)
            buffer[19] = UInt8(ascii: ".")
            put(micros, width: 6, at: 26)
            buffer[26] = UInt8(ascii: "Z")
            return 27
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The proleptic Gregorian date of a day count since 1970-01-01.
    static func civilFromDays(_ days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}

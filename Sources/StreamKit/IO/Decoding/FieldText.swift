/// Conversions of one field's bytes (a CSV field, a JSON number or string) to Swift values, straight
/// from the bytes and without building a `String`: the layer every StreamKit decoder shares
/// (``FlatJSONDecoder``, ``CSVSource``, ``JSONLinesSource``), so that a number or a time reads the
/// same from any source.
///
/// Every function returns `nil` for text it does not accept; the caller turns that into an error
/// that names the field.
enum FieldText {
    /// An integer written as decimal digits with an optional `-` (and `+` when `plus` is true);
    /// `nil` for anything else and for a value that does not fit in `I`.
    @inline(__always)
    static func integer<I: FixedWidthInteger>(
        _ type: I.Type,
        _ bytes: UnsafePointer<UInt8>,
        _ count: Int,
        plus: Bool = false
    ) -> I? {
        var position = 0
        var negative = false
        if count > 0 && (bytes[0] == UInt8(ascii: "-") || (plus && bytes[0] == UInt8(ascii: "+"))) {
            negative = bytes[0] == UInt8(ascii: "-")
            position = 1
        }
        guard position < count else { return nil }
        var magnitude: UInt64 = 0
        var overflow = false
        while position < count {
            let digit = bytes[position] &- UInt8(ascii: "0")
            guard digit < 10 else { return nil }
            let (times10, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(digit))
            magnitude = sum
            overflow = overflow || o1 || o2
            position += 1
        }
        guard !overflow else { return nil }
        if !negative { return magnitude <= UInt64(I.max) ? I(magnitude) : nil }
        if magnitude == 0 { return 0 }
        // Two's complement of the magnitude, truncated to the width of I: -magnitude.
        guard I.isSigned && magnitude - 1 <= UInt64(I.max) else { return nil }
        return I(truncatingIfNeeded: 0 &- magnitude)
    }

    /// A finite `Double` written in decimal (`-12.5`, `3e-4`, and what `Double(_:)` accepts, such
    /// as `.5` or `0x1p3`); `nil` for anything else and for `inf`, `nan` or a number too large to be
    /// finite (`1e999`), which a field that must hold a measurement never should.
    @inline(__always)
    static func double(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> Double? {
        if let value = fastDouble(bytes, count) { return value }
        guard count > 0,
            let value = Double(String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)),
            value.isFinite
        else { return nil }
        return value
    }

    /// Powers of ten that are exact doubles.
    private static let powersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17,
        1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    /// The number as a double when it has the JSON grammar (`-`, digits, an optional fraction and
    /// exponent) and one exact multiplication or division gives it: at most 19 significant digits, a
    /// mantissa at most 2^53 and a decimal exponent within ±22, so that both operands are exact and
    /// IEEE arithmetic rounds the result correctly (Clinger's fast path). `nil` for the rest, which
    /// `Double(_:)` parses.
    @inline(__always)
    static func fastDouble(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> Double? {
        var position = 0
        let negative = count > 0 && bytes[0] == UInt8(ascii: "-")
        if negative { position += 1 }
        let integerStart = position
        var mantissa: UInt64 = 0
        var digits = 0
        var exponent = 0
        while position < count, bytes[position] &- UInt8(ascii: "0") < 10 {
            mantissa = mantissa &* 10 &+ UInt64(bytes[position] &- UInt8(ascii: "0"))
            if mantissa != 0 { digits += 1 }
            position += 1
        }
        guard position > integerStart else { return nil }
        if position < count && bytes[position] == UInt8(ascii: ".") {
            position += 1
            let fractionStart = position
            while position < count, bytes[position] &- UInt8(ascii: "0") < 10 {
                mantissa = mantissa &* 10 &+ UInt64(bytes[position] &- UInt8(ascii: "0"))
                if mantissa != 0 { digits += 1 }
                exponent -= 1
                position += 1
            }
            guard position > fractionStart else { return nil }
        }
        guard digits <= 19 else { return nil }
        if position < count {  // an exponent
            guard bytes[position] | 0x20 == UInt8(ascii: "e") else { return nil }
            position += 1
            var exponentNegative = false
            if position < count && (bytes[position] == UInt8(ascii: "-") || bytes[position] == UInt8(ascii: "+")) {
                exponentNegative = bytes[position] == UInt8(ascii: "-")
                position += 1
            }
            guard position < count else { return nil }
            var written = 0
            while position < count {
                let digit = bytes[position] &- UInt8(ascii: "0")
                guard digit < 10 else { return nil }
                written = written * 10 + Int(digit)
                if written > 1000 { return nil }
                position += 1
            }
            exponent += exponentNegative ? -written : written
        }
        guard mantissa <= 1 << 53, (-22...22).contains(exponent) else { return nil }
        var value = Double(mantissa)
        if exponent >= 0 {
            value *= powersOfTen[exponent]
        } else {
            value /= powersOfTen[-exponent]
        }
        return negative ? -value : value
    }

    /// A ``Timestamp`` as `Timestamp.init(from:)` decodes one: an integer number of microseconds
    /// since 1970, or ISO 8601 text (see ``Timestamp/parseISO8601(_:defaultOffsetSeconds:)``).
    static func timestamp(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> Timestamp? {
        if let micros = integer(Int64.self, bytes, count) { return Timestamp(microseconds: micros) }
        if let timestamp = commonISO8601(bytes, count) { return timestamp }
        if case .success(let timestamp) = Timestamp.parseISO8601(UnsafeBufferPointer(start: bytes, count: count)) {
            return timestamp
        }
        return nil
    }

    /// The most common ISO 8601 layout, `YYYY-MM-DDTHH:MM:SS`, with an optional fraction and an
    /// optional `Z`, parsed with fixed offsets; `nil` for anything else (offsets, a missing second,
    /// invalid text), which `Timestamp.parseISO8601` then parses or rejects. For the text it
    /// accepts, the result is the same as `Timestamp.parseISO8601`'s (a test checks this).
    static func commonISO8601(_ text: UnsafePointer<UInt8>, _ length: Int) -> Timestamp? {
        guard length >= 19,
            text[4] == UInt8(ascii: "-"), text[7] == UInt8(ascii: "-"),
            text[10] == UInt8(ascii: "T") || text[10] == UInt8(ascii: " "),
            text[13] == UInt8(ascii: ":"), text[16] == UInt8(ascii: ":")
        else { return nil }
        // Each digit minus '0' is below 10; any other byte makes the subtraction wrap above 9.
        var invalid: UInt8 = 0
        @inline(__always) func digits2(_ offset: Int) -> Int {
            let high = text[offset] &- UInt8(ascii: "0")
            let low = text[offset + 1] &- UInt8(ascii: "0")
            invalid |= (high > 9 ? 1 : 0) | (low > 9 ? 1 : 0)
            return Int(high) &* 10 &+ Int(low)
        }
        let year = digits2(0) &* 100 &+ digits2(2)
        let month = digits2(5)
        let day = digits2(8)
        let hour = digits2(11)
        let minute = digits2(14)
        let second = digits2(17)
        guard invalid == 0, month >= 1, month <= 12, day >= 1, day <= Timestamp.daysInMonth(year: year, month: month),
            hour <= 23, minute <= 59, second <= 60
        else { return nil }
        var index = 19
        var micros = 0
        if index < length && (text[index] == UInt8(ascii: ".") || text[index] == UInt8(ascii: ",")) {
            index += 1
            let first = index
            // Up to six digits count (microseconds); more are read and ignored.
            while index < length, text[index] &- UInt8(ascii: "0") < 10 {
                if index &- first < 6 { micros = micros &* 10 &+ Int(text[index] &- UInt8(ascii: "0")) }
                index += 1
            }
            guard index > first else { return nil }
            for _ in Swift.min(index &- first, 6)..<6 { micros = micros &* 10 }
        }
        if index < length && (text[index] == UInt8(ascii: "Z") || text[index] == UInt8(ascii: "z")) { index += 1 }
        guard index == length else { return nil }
        let days = Timestamp.daysFromCivil(year: year, month: month, day: day)
        let seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
        return Timestamp(microseconds: seconds * 1_000_000 + Int64(micros))
    }

    /// Whether the bytes are text: no NUL byte and valid UTF-8. Returns the 1-based offset of the
    /// first offending byte and what is wrong with it, or `nil` when the bytes are text.
    static func textProblem(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> (offset: Int, reason: String)? {
        // Eight bytes at a time: a word with no byte at or above 0x80 and no zero byte is plain
        // ASCII text, the common case.
        var position = 0
        var ascii = true
        let raw = UnsafeRawPointer(bytes)
        while position + 8 <= count {
            let word = raw.loadUnaligned(fromByteOffset: position, as: UInt64.self)
            let zeroBytes = (word &- 0x0101_0101_0101_0101) & ~word & 0x8080_8080_8080_8080
            if word & 0x8080_8080_8080_8080 != 0 || zeroBytes != 0 { break }
            position += 8
        }
        for index in position..<count {
            if bytes[index] == 0 { return (index + 1, "a NUL byte") }
            if bytes[index] >= 0x80 { ascii = false }
        }
        guard !ascii else { return nil }
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = UnsafeBufferPointer(start: bytes, count: count).makeIterator()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let scalar): offset += scalar.count
            case .emptyInput: return nil
            case .error: return (offset + 1, "bytes that are not UTF-8")
            }
        }
    }
}

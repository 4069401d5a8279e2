/// One row of a CSV file, handed to the row-decoding closure of ``CSVSource/init(path:separator:decode:)``:
/// its fields, read straight from the bytes of the line.
///
/// This is the fastest way to read a flat CSV file: no `String` is made for a field unless
/// ``string(_:)`` asks for one, and numbers and times are parsed in place by the same code that
/// ``FlatJSONDecoder`` uses.
///
/// ```swift
/// let readings = pipeline.source(
///     CSVSource(path: "readings.csv") { row in
///         Reading(sensor: try row.int(0), time: try row.timestamp(1), value: try row.double(2))
///     })
/// ```
///
/// A row is valid only while the closure runs: it points into the block of the file being read. A
/// row always has as many fields as the header (a row with another count goes to the error output
/// before the closure sees it). The accessors throw ``CSVFieldError`` for a field that does not
/// hold what was asked for; the row then goes to the error output with that reason. Numbers,
/// booleans and times may have spaces or tabs around them; a string is returned as written.
public struct CSVRow {
    let line: UnsafePointer<UInt8>
    let spans: UnsafePointer<CSVFieldSpan>
    unowned(unsafe) let header: CSVHeader

    /// How many fields the row has: as many as the header's columns.
    public var count: Int { header.names.count }

    /// The header's column names, in order.
    public var columnNames: [String] { header.names }

    /// The index of the column named `name` in the header, or `nil` when there is none. Look it up
    /// once, outside the closure, when the file's layout is known; per row it costs a search.
    public func column(_ name: String) -> Int? { header.index(of: name) }

    /// Whether the field is empty (`nil` for an optional property of a `Decodable` row).
    public func isEmpty(_ column: Int) -> Bool {
        let span = spans[column]
        return span.end == span.start
    }

    /// The field's text, with `""` inside a quoted field read as one quote.
    public func string(_ column: Int) -> String {
        let span = spans[column]
        let bytes = UnsafeBufferPointer(start: line + span.start, count: span.end - span.start)
        guard span.escaped else { return String(decoding: bytes, as: UTF8.self) }
        var text: [UInt8] = []
        text.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            text.append(bytes[index])
            // The splitter accepted the field, so every quote in it is the first of a pair.
            index += bytes[index] == UInt8(ascii: "\"") ? 2 : 1
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// The field as an integer (`-12`, `+7`).
    public func int(_ column: Int) throws(CSVFieldError) -> Int { try integer(Int.self, column) }

    /// The field as a 64-bit integer.
    public func int64(_ column: Int) throws(CSVFieldError) -> Int64 { try integer(Int64.self, column) }

    /// The field as a finite number (`12.5`, `-3e-4`); `inf`, `nan` and `1e999` are rejected.
    public func double(_ column: Int) throws(CSVFieldError) -> Double {
        let (start, count) = trimmed(column)
        guard let value = FieldText.double(line + start, count) else {
            throw failure(column, expected: "a finite number")
        }
        return value
    }

    /// The field as a boolean: `true`, `1`, `yes`, `false`, `0` or `no`, in any case.
    public func bool(_ column: Int) throws(CSVFieldError) -> Bool {
        let (start, count) = trimmed(column)
        var word: UInt64 = 0
        if count <= 5 {
            for index in 0..<count {
                let byte = line[start + index]
                word = word << 8 | UInt64(byte &- UInt8(ascii: "A") < 26 ? byte | 0x20 : byte)
            }
        }
        switch word {
        case 0x74_72_75_65, 0x31, 0x79_65_73: return true  // true, 1, yes
        case 0x66_61_6C_73_65, 0x30, 0x6E_6F: return false  // false, 0, no
        default: throw failure(column, expected: "true or false")
        }
    }

    /// The field as a ``Timestamp``: an integer number of microseconds since 1970, or ISO 8601 text
    /// (`2024-01-01T12:00:00Z`, `2024-01-01 12:00:00.250+01:00`; without an offset, UTC).
    public func timestamp(_ column: Int) throws(CSVFieldError) -> Timestamp {
        let (start, count) = trimmed(column)
        if let value = FieldText.timestamp(line + start, count) { return value }
        var expected = "a time (ISO 8601, or microseconds since 1970)"
        if case .failure(let failure) = Timestamp.parseISO8601(UnsafeBufferPointer(start: line + start, count: count)) {
            expected += " (\(failure.reason))"
        }
        throw failure(column, expected: expected)
    }

    /// The field's bytes as written (inside the quotes of a quoted field), without copying them.
    public func withBytes<R, E: Error>(_ column: Int, _ body: (UnsafeBufferPointer<UInt8>) throws(E) -> R) throws(E)
        -> R
    {
        let span = spans[column]
        return try body(UnsafeBufferPointer(start: line + span.start, count: span.end - span.start))
    }

    @inline(__always)
    func integer<I: FixedWidthInteger>(_ type: I.Type, _ column: Int) throws(CSVFieldError) -> I {
        let (start, count) = trimmed(column)
        guard let value = FieldText.integer(I.self, line + start, count, plus: true) else {
            throw failure(column, expected: "an integer that fits in \(I.self)")
        }
        return value
    }

    /// The field without the spaces and tabs around it.
    @inline(__always)
    func trimmed(_ column: Int) -> (start: Int, count: Int) {
        let span = spans[column]
        var start = span.start
        var end = span.end
        while start < end && (line[start] == 0x20 || line[start] == 0x09) { start += 1 }
        while end > start && (line[end - 1] == 0x20 || line[end - 1] == 0x09) { end -= 1 }
        return (start, end - start)
    }

    /// The error for a field that does not hold what was expected.
    func failure(_ column: Int, expected: String) -> CSVFieldError {
        CSVFieldError(column: column + 1, name: header.names[column], expected: expected, found: string(column))
    }
}

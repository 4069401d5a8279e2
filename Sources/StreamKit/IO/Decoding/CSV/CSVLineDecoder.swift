/// Where one field of a CSV line is: `start..<end` of the line, inside the quotes of a quoted field;
/// `escaped` when it holds a doubled quote.
struct CSVFieldSpan {
    var start: Int
    var end: Int
    var escaped: Bool
}

/// The header of a CSV file: its column names, in order.
final class CSVHeader: Sendable {
    let names: [String]

    init(names: [String]) {
        self.names = names
    }

    /// The index of the column named `name`.
    @inline(__always)
    func index(of name: String) -> Int? {
        // Few columns, short names: a scan with String's equality (two words for a small string)
        // beats hashing the name.
        for index in names.indices where names[index] == name { return index }
        return nil
    }
}

/// Turns the lines of a CSV file into elements: checks that a line is text, splits it into fields
/// in place (RFC 4180 quoting within one line), checks the field count against the header, and
/// hands a ``CSVRow`` to the element's decoder.
struct CSVLineDecoder<Element: Sendable>: LineDecoder {
    let separator: UInt8
    let decodeRow: @Sendable (CSVRow) throws -> Element
    private var header = CSVHeader(names: [])
    private var spans: [CSVFieldSpan] = []
    var hasHeader: Bool { true }

    init(separator: UInt8, decodeRow: @escaping @Sendable (CSVRow) throws -> Element) {
        self.separator = separator
        self.decodeRow = decodeRow
    }

    mutating func header(_ line: UnsafeBufferPointer<UInt8>) throws {
        do {
            try Self.checkText(line)
            try split(line)
        } catch let error as CSVLineError {
            throw StreamKitError(code: .decoding, message: "the CSV header line has \(error.reason): fix the file")
        }
        var names = spans.map { span in
            String(decoding: UnsafeBufferPointer(rebasing: line[span.start..<span.end]), as: UTF8.self)
        }
        if let first = names.first, first.hasPrefix("\u{FEFF}") { names[0] = String(first.dropFirst()) }
        header = CSVHeader(names: names)
    }

    mutating func decode(_ line: UnsafeBufferPointer<UInt8>) throws -> Element {
        try Self.checkText(line)
        try split(line)
        guard spans.count == header.names.count else {
            throw CSVLineError(
                reason: "expected \(header.names.count) fields as in the header, found \(spans.count)"
            )
        }
        return try spans.withUnsafeBufferPointer { spans in
            try decodeRow(CSVRow(line: line.baseAddress!, spans: spans.baseAddress!, header: header))
        }
    }

    /// Rejects a line that is not text: a NUL byte, or bytes that are not UTF-8.
    static func checkText(_ line: UnsafeBufferPointer<UInt8>) throws {
        guard let base = line.baseAddress, let problem = FieldText.textProblem(base, line.count) else { return }
        throw CSVLineError(reason: "\(problem.reason) at byte \(problem.offset) of the line")
    }

    /// Splits one line into `spans`.
    private mutating func split(_ line: UnsafeBufferPointer<UInt8>) throws {
        spans.removeAll(keepingCapacity: true)
        let quote = UInt8(ascii: "\"")
        let separator = self.separator
        let count = line.count
        var index = 0
        while true {
            if index < count && line[index] == quote {
                index += 1
                let start = index
                var escaped = false
                var closed = false
                while index < count {
                    if line[index] == quote {
                        if index + 1 < count && line[index + 1] == quote {
                            escaped = true
                            index += 2
                            continue
                        }
                        closed = true
                        break
                    }
                    index += 1
                }
                guard closed else { throw CSVLineError(reason: "a quoted field is not closed") }
                spans.append(CSVFieldSpan(start: start, end: index, escaped: escaped))
                index += 1  // the closing quote
                guard index == count || line[index] == separator else {
                    throw CSVLineError(reason: "text after the closing quote of field \(spans.count)")
                }
            } else {
                let start = index
                while index < count && line[index] != separator { index += 1 }
                spans.append(CSVFieldSpan(start: start, end: index, escaped: false))
            }
            if index >= count { return }
            index += 1  // the separator
            if index == count {
                spans.append(CSVFieldSpan(start: index, end: index, escaped: false))
                return
            }
        }
    }
}

/// A CSV line that cannot be split into fields.
struct CSVLineError: Error, CustomStringConvertible {
    var reason: String
    var description: String { reason }
}

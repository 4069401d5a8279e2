import Foundation

/// A source that reads a CSV file with a header line, decoding each row into `Element` by column
/// name.
///
/// Fields are separated by `separator` (a comma by default) and may be quoted with `"`, with `""`
/// for a quote inside a quoted field; a quoted field cannot span lines. Each property of `Element`
/// is read from the column of the same name (use `CodingKeys` to map other names). Numbers,
/// booleans, strings and ``Timestamp`` (ISO 8601) decode from the text; an empty field decodes as
/// `nil` for an optional property.
///
/// A row that does not decode (a missing column, text where a number belongs, too many fields,
/// bytes that are not UTF-8, a NUL byte, a number that is not finite such as `1e999` or `nan`) goes
/// to the source's ``DataStream/errors`` output with the file, line number, reason and raw text, as
/// in ``JSONLinesSource``.
///
/// ```swift
/// struct Flow: Decodable, Sendable { var Datetime: String; var AT_CH_MWh: Double }
/// let flows = pipeline.source(CSVSource<Flow>(path: "flows.csv"))
/// ```
public struct CSVSource<Element: Decodable & Sendable>: Source {
    /// The file's path.
    public let path: String
    /// The field separator.
    public let separator: UInt8

    /// Creates a source for the CSV file at `path`.
    public init(path: String, separator: Character = ",") {
        self.path = path
        self.separator = separator.asciiValue ?? UInt8(ascii: ",")
    }

    /// The file, by its absolute path: a checkpoint of another file is not restored.
    public var identity: String? { "file '\(URL(fileURLWithPath: path).standardizedFileURL.path)'" }

    /// Opens the file.
    /// - Throws: ``StreamKitError`` with code ``StreamKitError/Code/io`` if it cannot be opened.
    public func makeReader(context: SourceContext) async throws -> Reader {
        Reader(
            base: try LineFileReader(
                path: path,
                decoder: CSVLineDecoder(separator: separator),
                origin: context.name
            )
        )
    }

    /// Reads and decodes rows.
    public struct Reader: SourceReader {
        var base: LineFileReader<CSVLineDecoder<Element>>

        /// Reads up to `maximumCount` rows.
        public mutating func read(maximumCount: Int) async throws -> SourceRead<Element> {
            try await base.read(maximumCount: maximumCount)
        }

        /// The byte offset and number of the next line.
        public var position: SourcePosition? { base.position }

        /// Continues at a checkpointed line.
        public mutating func seek(to position: SourcePosition) async throws {
            try await base.seek(to: position)
        }
    }
}

struct CSVLineDecoder<Element: Decodable & Sendable>: LineDecoder {
    let separator: UInt8
    var columns: [String: Int] = [:]
    var columnCount = 0
    var hasHeader: Bool { true }

    init(separator: UInt8) {
        self.separator = separator
    }

    mutating func header(_ line: UnsafeBufferPointer<UInt8>) throws {
        do {
            try CSVLineDecoder.checkText(line)
        } catch let error as CSVError {
            throw StreamKitError(code: .decoding, message: "the CSV header line has \(error.reason): fix the file")
        }
        var fields = try CSVLineDecoder.split(line, separator: separator)
        if let first = fields.first, first.hasPrefix("\u{FEFF}") { fields[0] = String(first.dropFirst()) }
        columnCount = fields.count
        for (index, name) in fields.enumerated() { columns[name] = index }
    }

    func decode(_ line: UnsafeBufferPointer<UInt8>) throws -> Element {
        try CSVLineDecoder.checkText(line)
        let fields = try CSVLineDecoder.split(line, separator: separator)
        guard fields.count == columnCount else {
            throw CSVError(reason: "expected \(columnCount) fields as in the header, found \(fields.count)")
        }
        return try Element(from: CSVRowDecoder(fields: fields, columns: columns))
    }

    /// Rejects a line that is not text: a NUL byte, or bytes that are not UTF-8.
    static func checkText(_ line: UnsafeBufferPointer<UInt8>) throws {
        var ascii = true
        for (index, byte) in line.enumerated() {
            if byte == 0 { throw CSVError(reason: "a NUL byte at byte \(index + 1) of the line") }
            if byte >= 0x80 { ascii = false }
        }
        guard !ascii else { return }
        var parser = Unicode.UTF8.ForwardParser()
        var bytes = line.makeIterator()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &bytes) {
            case .valid(let scalar): offset += scalar.count
            case .emptyInput: return
            case .error: throw CSVError(reason: "bytes that are not UTF-8 at byte \(offset + 1) of the line")
            }
        }
    }

    /// Splits one CSV line into fields (RFC 4180 quoting, within one line).
    static func split(_ line: UnsafeBufferPointer<UInt8>, separator: UInt8) throws -> [String] {
        var fields: [String] = []
        var index = 0
        let quote = UInt8(ascii: "\"")
        while true {
            if index < line.count && line[index] == quote {
                var bytes: [UInt8] = []
                index += 1
                var closed = false
                while index < line.count {
                    if line[index] == quote {
                        if index + 1 < line.count && line[index + 1] == quote {
                            bytes.append(quote)
                            index += 2
                            continue
                        }
                        index += 1
                        closed = true
                        break
                    }
                    bytes.append(line[index])
                    index += 1
                }
                guard closed else { throw CSVError(reason: "a quoted field is not closed") }
                guard index == line.count || line[index] == separator else {
                    throw CSVError(reason: "text after the closing quote of field \(fields.count + 1)")
                }
                fields.append(String(decoding: bytes, as: UTF8.self))
            } else {
                var end = index
                while end < line.count && line[end] != separator { end += 1 }
                fields.append(String(decoding: UnsafeBufferPointer(rebasing: line[index..<end]), as: UTF8.self))
                index = end
            }
            if index >= line.count { return fields }
            index += 1  // the separator
            if index == line.count {
                fields.append("")
                return fields
            }
        }
    }
}

/// A CSV row that cannot be read.
struct CSVError: Error, CustomStringConvertible {
    var reason: String
    var description: String { reason }
}

/// Decodes one CSV row into a `Decodable` type by column name.
struct CSVRowDecoder: Decoder {
    let fields: [String]
    let columns: [String: Int]
    var codingPath: [any CodingKey] = []
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(KeyedContainer<Key>(decoder: self))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw DecodingError.typeMismatch(
            [Any].self,
            .init(codingPath: codingPath, debugDescription: "a CSV row decodes into a struct, by column name")
        )
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        throw DecodingError.typeMismatch(
            Any.self,
            .init(codingPath: codingPath, debugDescription: "a CSV row decodes into a struct, by column name")
        )
    }

    struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let decoder: CSVRowDecoder
        var codingPath: [any CodingKey] { decoder.codingPath }
        var allKeys: [Key] { decoder.columns.keys.compactMap { Key(stringValue: $0) } }

        func contains(_ key: Key) -> Bool { decoder.columns[key.stringValue] != nil }

        func field(_ key: Key) throws -> String {
            guard let index = decoder.columns[key.stringValue] else {
                throw DecodingError.keyNotFound(
                    key,
                    .init(codingPath: codingPath, debugDescription: "the header has no column '\(key.stringValue)'")
                )
            }
            return decoder.fields[index]
        }

        func decodeNil(forKey key: Key) throws -> Bool { try field(key).isEmpty }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            try T(from: FieldDecoder(text: try field(key), codingPath: codingPath + [key]))
        }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
            -> KeyedDecodingContainer<NestedKey>
        {
            throw DecodingError.typeMismatch(
                type,
                .init(codingPath: codingPath + [key], debugDescription: "a CSV field holds no nested values")
            )
        }

        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            throw DecodingError.typeMismatch(
                [Any].self,
                .init(codingPath: codingPath + [key], debugDescription: "a CSV field holds no list")
            )
        }

        func superDecoder() throws -> any Decoder { decoder }
        func superDecoder(forKey key: Key) throws -> any Decoder { decoder }
    }

    /// Decodes one field's text as a single value.
    struct FieldDecoder: Decoder, SingleValueDecodingContainer {
        let text: String
        var codingPath: [any CodingKey]
        var userInfo: [CodingUserInfoKey: Any] { [:] }

        func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
            throw mismatch(type)
        }
        func unkeyedContainer() throws -> any UnkeyedDecodingContainer { throw mismatch([Any].self) }
        func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

        func mismatch(_ type: Any.Type) -> DecodingError {
            .typeMismatch(type, .init(codingPath: codingPath, debugDescription: "found '\(text)'"))
        }

        func number<T: LosslessStringConvertible>(_ type: T.Type) throws -> T {
            guard let value = T(text.trimmingCharacters(in: .whitespaces)) else { throw mismatch(type) }
            return value
        }

        func decodeNil() -> Bool { text.isEmpty }
        func decode(_ type: Bool.Type) throws -> Bool {
            switch text.lowercased() {
            case "true", "1", "yes": return true
            case "false", "0", "no": return false
            default: throw mismatch(type)
            }
        }
        func decode(_ type: String.Type) throws -> String { text }
        func decode(_ type: Double.Type) throws -> Double { try finite(type) }
        func decode(_ type: Float.Type) throws -> Float { try finite(type) }

        /// A floating-point number that is finite: `1e999` (which would read as infinity), `inf`
        /// and `nan` are rejected, as JSON rejects them.
        func finite<T: LosslessStringConvertible & BinaryFloatingPoint>(_ type: T.Type) throws -> T {
            let value = try number(type)
            guard value.isFinite else {
                throw DecodingError.dataCorrupted(
                    .init(
                        codingPath: codingPath,
                        debugDescription: "'\(text)' is not a finite number (\(T.self) cannot hold it)"
                    )
                )
            }
            return value
        }
        func decode(_ type: Int.Type) throws -> Int { try number(type) }
        func decode(_ type: Int8.Type) throws -> Int8 { try number(type) }
        func decode(_ type: Int16.Type) throws -> Int16 { try number(type) }
        func decode(_ type: Int32.Type) throws -> Int32 { try number(type) }
        func decode(_ type: Int64.Type) throws -> Int64 { try number(type) }
        func decode(_ type: UInt.Type) throws -> UInt { try number(type) }
        func decode(_ type: UInt8.Type) throws -> UInt8 { try number(type) }
        func decode(_ type: UInt16.Type) throws -> UInt16 { try number(type) }
        func decode(_ type: UInt32.Type) throws -> UInt32 { try number(type) }
        func decode(_ type: UInt64.Type) throws -> UInt64 { try number(type) }
        func decode<T: Decodable>(_ type: T.Type) throws -> T { try T(from: self) }
    }
}

import Foundation

/// A fast decoder of small, flat JSON objects, such as the readings IoT devices publish:
/// `{"id":"Sensor 1","dt":"2024-01-01T00:00:00.123456","value":42}`.
///
/// It decodes any `Decodable` type whose fields are strings, numbers, booleans, `null` (for
/// optionals), and types that decode from one of those through a single-value container, such as
/// ``Timestamp``, enums with raw values, `Date` (seconds since 2001, as `JSONDecoder` by default),
/// and `URL`, `Data` (Base64) and `Decimal` as `JSONDecoder` decodes them.
///
/// ```swift
/// struct Reading: Decodable { var id: String; var dt: Timestamp; var value: Int }
/// let reading = try FlatJSONDecoder().decode(Reading.self, from: payload)
/// ```
///
/// How it differs from `JSONDecoder`:
/// - The payload is one JSON object, in UTF-8. Its values are checked as strictly as `JSONDecoder`
///   checks them (string escapes, `\uXXXX` surrogate pairs, UTF-8, the number grammar), but a
///   value that is an object or an array is only validated and skipped: decoding it as a field
///   throws `DecodingError.typeMismatch` that says to use `JSONDecoder` for nested JSON. Unknown
///   keys, nested or not, are ignored.
/// - Keys are matched exactly (no key strategies); when a key occurs twice, the first occurrence
///   counts, as with `JSONDecoder`. A trailing comma is malformed JSON (`JSONDecoder` accepts
///   one). A number too large for its type is an error, one too small for a `Double` reads as 0
///   (`JSONDecoder` rejects it).
/// - The decoder is made for speed: one pass over the bytes records where each field's key and value
///   are, and a value is converted only when the type asks for it, straight from the bytes (a
///   `String` is built only for `String` fields; ``Timestamp`` fields are parsed without one).
///
/// Errors are `DecodingError` values as `JSONDecoder` throws them: `keyNotFound`, `typeMismatch`
/// and `valueNotFound` with the coding path of the field, and `dataCorrupted` with the byte offset
/// and what was expected when the JSON is malformed.
public struct FlatJSONDecoder: Sendable {
    /// Creates a decoder.
    public init() {}

    /// Decodes one flat JSON object from UTF-8 bytes.
    ///
    /// The decoder and the containers it gives `type`'s `init(from:)` read `bytes` and the table of
    /// fields in place, without reference counting: they may be used only until `init(from:)`
    /// returns, as every `Decodable` implementation of the standard library and Foundation does.
    /// - Parameters:
    ///   - type: The type to decode.
    ///   - bytes: One JSON object, in UTF-8, with optional whitespace around it.
    /// - Returns: The decoded value.
    /// - Throws: `DecodingError`; see ``FlatJSONDecoder``.
    public func decode<T: Decodable>(_ type: T.Type, from bytes: UnsafeRawBufferPointer) throws -> T {
        guard let base = bytes.baseAddress, !bytes.isEmpty else {
            throw FlatJSONScanner.malformed(at: 0, "expected a JSON object, found an empty payload")
        }
        let payload = base.assumingMemoryBound(to: UInt8.self)
        // The fields are collected on the stack (on the heap past 16 of them) and read in place:
        // apart from what `type` itself allocates, decoding makes no allocation but the box of the
        // keyed container. (`withUnsafeTemporaryAllocation` would look up the metadata of a
        // `Result<T, any Error>` on every call in this unspecialised generic function.)
        var storage = FlatJSONFieldStorage()
        return try withUnsafeMutableBytes(of: &storage) { raw in
            let stack = raw.bindMemory(to: FlatJSONField.self)
            var scanner = FlatJSONScanner(bytes: payload, count: bytes.count, fields: stack)
            defer { scanner.fields.deallocateHeapStorage() }
            try scanner.scanDocument()
            let reader = FlatJSONReader(
                bytes: payload,
                fields: scanner.fields.pointer,
                fieldCount: scanner.fields.count
            )
            // Straight to the type's own decoding: at the top level there is no field for the
            // direct conversions of `FlatJSONReader.decode(_:at:path:)`.
            return try T(from: FlatJSONObjectDecoder(reader: reader))
        }
    }

    /// Decodes one flat JSON object from UTF-8 bytes.
    /// - Parameters:
    ///   - type: The type to decode.
    ///   - bytes: One JSON object, in UTF-8, with optional whitespace around it.
    /// - Returns: The decoded value.
    /// - Throws: `DecodingError`; see ``FlatJSONDecoder``.
    public func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try bytes.withUnsafeBytes { try decode(type, from: $0) }
    }

    /// Decodes one flat JSON object from UTF-8 bytes in any collection, such as `Data` or an
    /// `ArraySlice<UInt8>`; collections without contiguous storage are copied first.
    /// - Parameters:
    ///   - type: The type to decode.
    ///   - bytes: One JSON object, in UTF-8, with optional whitespace around it.
    /// - Returns: The decoded value.
    /// - Throws: `DecodingError`; see ``FlatJSONDecoder``.
    public func decode<T: Decodable>(_ type: T.Type, from bytes: some Collection<UInt8>) throws -> T {
        let decoded = try bytes.withContiguousStorageIfAvailable { try decode(type, from: UnsafeRawBufferPointer($0)) }
        if let decoded { return decoded }
        return try decode(type, from: Array(bytes))
    }

    /// The underlying error of the `typeMismatch` thrown when a type reads a nested object or array.
    struct NestedValue: Error {}

    /// Whether `error` says that the type reads a nested object or array, which `JSONDecoder`
    /// decodes: the payload may be valid, but not for this decoder.
    static func isNestedValueError(_ error: DecodingError) -> Bool {
        guard case .typeMismatch(_, let context) = error else { return false }
        return context.underlyingError is NestedValue
    }
}

// MARK: - Scanning

/// What kind of JSON value a field holds.
enum FlatJSONKind: UInt8 {
    case string, number, `true`, `false`, null, object, array

    /// The kind in words, for error messages.
    var name: String {
        switch self {
        case .string: "string"
        case .number: "number"
        case .true, .false: "bool"
        case .null: "null"
        case .object: "a nested object"
        case .array: "an array"
        }
    }
}

/// Where one field of the object is in the payload.
struct FlatJSONField {
    /// The key's bytes, between the quotes.
    var keyStart = 0
    var keyEnd = 0
    /// The value's bytes: between the quotes for a string, the whole value otherwise.
    var valueStart = 0
    var valueEnd = 0
    var kind = FlatJSONKind.null
    /// The key contains backslash escapes, so its bytes are not its text.
    var keyEscaped = false
    /// A string value contains backslash escapes.
    var valueEscaped = false
    /// A number has neither a fraction nor an exponent.
    var isInteger = false
}

/// Room for 16 fields on the stack.
struct FlatJSONFieldStorage {
    private var fields = (
        FlatJSONField(), FlatJSONField(), FlatJSONField(), FlatJSONField(),
        FlatJSONField(), FlatJSONField(), FlatJSONField(), FlatJSONField(),
        FlatJSONField(), FlatJSONField(), FlatJSONField(), FlatJSONField(),
        FlatJSONField(), FlatJSONField(), FlatJSONField(), FlatJSONField()
    )
}

/// The fields found so far: in a caller's buffer (on the stack) until it is full, then on the heap.
struct FlatJSONFieldList {
    private(set) var pointer: UnsafeMutablePointer<FlatJSONField>
    private(set) var count = 0
    private var capacity: Int
    private var ownsStorage = false

    init(storage: UnsafeMutableBufferPointer<FlatJSONField>) {
        pointer = storage.baseAddress!
        capacity = storage.count
    }

    @inline(__always)
    mutating func append(_ field: FlatJSONField) {
        if count == capacity { grow() }
        (pointer + count).initialize(to: field)
        count += 1
    }

    private mutating func grow() {
        let larger = UnsafeMutablePointer<FlatJSONField>.allocate(capacity: capacity * 2)
        larger.initialize(from: pointer, count: count)
        deallocateHeapStorage()
        pointer = larger
        capacity *= 2
        ownsStorage = true
    }

    /// Frees the heap storage, if the list moved there; the fields are plain values.
    mutating func deallocateHeapStorage() {
        if ownsStorage { pointer.deallocate() }
        ownsStorage = false
    }
}

/// One pass over the payload that checks it is one well-formed JSON object and records where each
/// field is; nested objects and arrays are checked and skipped.
struct FlatJSONScanner {
    let bytes: UnsafePointer<UInt8>
    let count: Int
    var index = 0
    /// The fields of the object, in the order of the payload.
    var fields: FlatJSONFieldList

    /// How deep skipped values may nest, as in `JSONDecoder`, so that a hostile payload cannot
    /// exhaust the stack.
    static let maximumDepth = 512

    /// Creates a scanner of `count` bytes that collects fields in `fields` first.
    init(bytes: UnsafePointer<UInt8>, count: Int, fields: UnsafeMutableBufferPointer<FlatJSONField>) {
        self.bytes = bytes
        self.count = count
        self.fields = FlatJSONFieldList(storage: fields)
    }

    /// Scans the whole payload, an object and nothing but whitespace around it, into ``fields``.
    mutating func scanDocument() throws {
        // A UTF-8 byte order mark, which JSONDecoder accepts too.
        if count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF { index = 3 }
        skipWhitespace()
        guard index < count else { throw malformed("expected a JSON object") }
        guard bytes[index] == UInt8(ascii: "{") else {
            // Tell malformed JSON from a well-formed value of the wrong kind.
            let kind = try scanValue(depth: 0).kind
            try scanEnd()
            throw DecodingError.typeMismatch(
                [String: Any].self,
                DecodingError.Context(
                    codingPath: [],
                    debugDescription: "Expected to decode Dictionary<String, Any> but found \(kind.name) instead: "
                        + "FlatJSONDecoder decodes one JSON object per payload."
                )
            )
        }
        index += 1
        skipWhitespace()
        if index < count && bytes[index] == UInt8(ascii: "}") {
            index += 1
        } else {
            while true {
                guard index < count, bytes[index] == UInt8(ascii: "\"") else {
                    throw malformed("expected a key in double quotes")
                }
                let key = try scanString()
                skipWhitespace()
                guard index < count, bytes[index] == UInt8(ascii: ":") else {
                    throw malformed("expected ':' after the key \(quotedKey(key.start, key.end))")
                }
                index += 1
                skipWhitespace()
                let value = try scanValue(depth: 1)
                fields.append(
                    FlatJSONField(
                        keyStart: key.start,
                        keyEnd: key.end,
                        valueStart: value.start,
                        valueEnd: value.end,
                        kind: value.kind,
                        keyEscaped: key.escaped,
                        valueEscaped: value.escaped,
                        isInteger: value.isInteger
                    )
                )
                skipWhitespace()
                guard index < count else {
                    throw malformed("expected ',' or '}' after the value of \(quotedKey(key.start, key.end))")
                }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    skipWhitespace()
                    continue
                }
                if bytes[index] == UInt8(ascii: "}") {
                    index += 1
                    break
                }
                throw malformed("expected ',' or '}' after the value of \(quotedKey(key.start, key.end))")
            }
        }
        try scanEnd()
    }

    /// Checks that only whitespace follows.
    private mutating func scanEnd() throws {
        skipWhitespace()
        guard index == count else { throw malformed("expected the end of the payload after the object") }
    }

    @inline(__always)
    private mutating func skipWhitespace() {
        // Every JSON whitespace byte is at most 0x20: one comparison for the common case.
        while index < count && bytes[index] <= 0x20 {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    /// A scanned value: its bytes (between the quotes for a string), its kind and flags.
    struct Value {
        var start: Int
        var end: Int
        var kind: FlatJSONKind
        var escaped = false
        var isInteger = false
    }

    /// Scans one value of any kind; objects and arrays are checked and skipped.
    private mutating func scanValue(depth: Int) throws -> Value {
        guard index < count else { throw malformed("expected a value") }
        let start = index
        switch bytes[index] {
        case UInt8(ascii: "\""):
            let string = try scanString()
            return Value(start: string.start, end: string.end, kind: .string, escaped: string.escaped)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let isInteger = try scanNumber()
            return Value(start: start, end: index, kind: .number, isInteger: isInteger)
        case UInt8(ascii: "t"):
            try scanLiteral("true")
            return Value(start: start, end: index, kind: .true)
        case UInt8(ascii: "f"):
            try scanLiteral("false")
            return Value(start: start, end: index, kind: .false)
        case UInt8(ascii: "n"):
            try scanLiteral("null")
            return Value(start: start, end: index, kind: .null)
        case UInt8(ascii: "{"):
            try skipObject(depth: depth)
            return Value(start: start, end: index, kind: .object)
        case UInt8(ascii: "["):
            try skipArray(depth: depth)
            return Value(start: start, end: index, kind: .array)
        default:
            throw malformed("expected a value (a string, number, true, false, null, object or array)")
        }
    }

    private mutating func skipObject(depth: Int) throws {
        guard depth < Self.maximumDepth else { throw malformed("values nested more than 512 deep") }
        index += 1
        skipWhitespace()
        if index < count && bytes[index] == UInt8(ascii: "}") {
            index += 1
            return
        }
        while true {
            guard index < count, bytes[index] == UInt8(ascii: "\"") else {
                throw malformed("expected a key in double quotes")
            }
            _ = try scanString()
            skipWhitespace()
            guard index < count, bytes[index] == UInt8(ascii: ":") else { throw malformed("expected ':' after a key") }
            index += 1
            skipWhitespace()
            _ = try scanValue(depth: depth + 1)
            skipWhitespace()
            guard index < count else { throw malformed("expected ',' or '}' in an object") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                skipWhitespace()
            } else if bytes[index] == UInt8(ascii: "}") {
                index += 1
                return
            } else {
                throw malformed("expected ',' or '}' in an object")
            }
        }
    }

    private mutating func skipArray(depth: Int) throws {
        guard depth < Self.maximumDepth else { throw malformed("values nested more than 512 deep") }
        index += 1
        skipWhitespace()
        if index < count && bytes[index] == UInt8(ascii: "]") {
            index += 1
            return
        }
        while true {
            _ = try scanValue(depth: depth + 1)
            skipWhitespace()
            guard index < count else { throw malformed("expected ',' or ']' in an array") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                skipWhitespace()
            } else if bytes[index] == UInt8(ascii: "]") {
                index += 1
                return
            } else {
                throw malformed("expected ',' or ']' in an array")
            }
        }
    }

    /// Scans a string from its opening quote to just after its closing quote; checks escapes,
    /// control characters and UTF-8.
    ///
    /// The common case, plain ASCII up to the closing quote, stays in this small function; the
    /// rest continues in ``scanStringSlowly(opening:from:)``.
    @inline(__always)
    private mutating func scanString() throws -> (start: Int, end: Int, escaped: Bool) {
        let opening = index
        let start = index + 1
        var position = start
        // Eight bytes at a time while none is a quote, a backslash, a control character or part of
        // a non-ASCII character.
        while position + 8 <= count {
            let word = UInt64(littleEndian: UnsafeRawPointer(bytes + position).loadUnaligned(as: UInt64.self))
            let special = Self.specialBytes(word)
            if special != 0 {
                position += special.trailingZeroBitCount >> 3
                if bytes[position] == UInt8(ascii: "\"") {
                    index = position + 1
                    return (start, position, false)
                }
                break
            }
            position += 8
        }
        return try scanStringSlowly(opening: opening, from: position)
    }

    /// Scans the rest of a string from `position` byte by byte: escapes, non-ASCII characters,
    /// control characters, and the last bytes of the payload.
    @inline(never)
    private mutating func scanStringSlowly(opening: Int, from position: Int) throws -> (
        start: Int, end: Int, escaped: Bool
    ) {
        index = position
        var escaped = false
        var nonASCII = false
        while true {
            guard index < count else { throw Self.malformed(at: opening, "unterminated string") }
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") { break }
            if byte == UInt8(ascii: "\\") {
                escaped = true
                try scanEscape()
            } else if byte < 0x20 {
                throw malformed("control character in a string: escape it (\\n, \\t, \\u00XX)")
            } else {
                nonASCII = nonASCII || byte >= 0x80
                index += 1
            }
        }
        let end = index
        index += 1
        if nonASCII { try validateUTF8(opening + 1, end) }
        return (opening + 1, end, escaped)
    }

    /// The high bit of each byte of `word` (little-endian) that a string scan must stop at: `"`,
    /// `\`, below 0x20 or above 0x7F. Bytes above the lowest flagged one may be flagged wrongly
    /// (borrows of the subtractions), so only the lowest counts.
    @inline(__always)
    static func specialBytes(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let quote = word ^ (ones &* 0x22)
        let backslash = word ^ (ones &* 0x5C)
        let isQuote = (quote &- ones) & ~quote
        let isBackslash = (backslash &- ones) & ~backslash
        let isControl = (word &- ones &* 0x20) & ~word
        return (isQuote | isBackslash | isControl | word) & (ones &* 0x80)
    }

    /// Scans one backslash escape; a `\u` escape of a UTF-16 high surrogate must be followed by
    /// one of a low surrogate.
    private mutating func scanEscape() throws {
        guard index + 1 < count else { throw malformed("unterminated escape") }
        switch bytes[index + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
            UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            index += 2
        case UInt8(ascii: "u"):
            let unit = try hexEscape()
            if (0xD800...0xDBFF).contains(unit) {
                guard index + 1 < count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u"),
                    (0xDC00...0xDFFF).contains(try hexEscape())
                else {
                    throw malformed("expected a \\u escape of a low surrogate after a high surrogate")
                }
            } else if (0xDC00...0xDFFF).contains(unit) {
                throw Self.malformed(at: index - 6, "a low surrogate without a high surrogate before it")
            }
        default:
            throw malformed("invalid escape: use \\\", \\\\, \\/, \\b, \\f, \\n, \\r, \\t or \\uXXXX")
        }
    }

    /// Reads `\uXXXX` at `index` and moves past it.
    private mutating func hexEscape() throws -> UInt16 {
        guard index + 6 <= count else { throw malformed("expected four hex digits after \\u") }
        var unit: UInt16 = 0
        for offset in 2..<6 {
            guard let digit = FlatJSONScanner.hexValue(bytes[index + offset]) else {
                throw Self.malformed(at: index + offset, "expected four hex digits after \\u")
            }
            unit = unit << 4 | UInt16(digit)
        }
        index += 6
        return unit
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    private func validateUTF8(_ start: Int, _ end: Int) throws {
        var iterator = UnsafeBufferPointer(start: bytes + start, count: end - start).makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        var offset = start
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let scalar): offset += scalar.count
            case .emptyInput: return
            case .error: throw Self.malformed(at: offset, "invalid UTF-8 in a string")
            }
        }
    }

    /// Scans a number per the JSON grammar; returns whether it has neither fraction nor exponent.
    private mutating func scanNumber() throws -> Bool {
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < count, isDigit(bytes[index]) else { throw malformed("expected a digit") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if index < count && isDigit(bytes[index]) { throw malformed("a number may not start with 0") }
        } else {
            skipDigits()
        }
        var isInteger = true
        if index < count && bytes[index] == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            guard index < count, isDigit(bytes[index]) else { throw malformed("expected a digit after '.'") }
            skipDigits()
        }
        if index < count && (bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E")) {
            isInteger = false
            index += 1
            if index < count && (bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-")) {
                index += 1
            }
            guard index < count, isDigit(bytes[index]) else { throw malformed("expected a digit in the exponent") }
            skipDigits()
        }
        return isInteger
    }

    @inline(__always)
    private func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }

    @inline(__always)
    private mutating func skipDigits() {
        while index < count && isDigit(bytes[index]) { index += 1 }
    }

    private mutating func scanLiteral(_ literal: StaticString) throws {
        let length = literal.utf8CodeUnitCount
        guard index + length <= count, memcmp(bytes + index, literal.utf8Start, length) == 0 else {
            throw malformed("expected \(literal)")
        }
        index += length
    }

    /// The key between `start` and `end`, quoted, for messages.
    @inline(never)
    private func quotedKey(_ start: Int, _ end: Int) -> String {
        "\""
            + String(
                decoding: UnsafeBufferPointer(start: bytes + start, count: Swift.min(end - start, 64)),
                as: UTF8.self
            )
            + "\""
    }

    /// A malformed-JSON error at the current position, naming what was found there.
    @inline(never)
    private func malformed(_ expected: String) -> DecodingError {
        let found: String
        if index >= count {
            found = "the end of the payload"
        } else if (0x21...0x7E).contains(bytes[index]) {
            found = "'\(Character(Unicode.Scalar(bytes[index])))'"
        } else {
            found = "byte 0x" + String(bytes[index], radix: 16, uppercase: true)
        }
        return Self.malformed(at: index, "\(expected), found \(found)")
    }

    /// A malformed-JSON error at byte offset `offset`.
    @inline(never)
    static func malformed(at offset: Int, _ message: String) -> DecodingError {
        .dataCorrupted(
            DecodingError.Context(
                codingPath: [],
                debugDescription: "Malformed JSON at byte offset \(offset): \(message)."
            )
        )
    }
}

// MARK: - Reading values

/// The scanned payload: the bytes, where each field is, and the conversions of values to Swift
/// types with `JSONDecoder`'s errors.
///
/// Three words of plain pointers, so that the decoders and containers that hold it fit in an
/// existential's inline buffer and are copied without reference counting. It points into the
/// payload and the table of fields of a running `FlatJSONDecoder.decode(_:from:)`, and is valid
/// only while that runs.
struct FlatJSONReader {
    /// The payload.
    let bytes: UnsafePointer<UInt8>
    /// The fields of the object, duplicates included, in the order of the payload.
    let fields: UnsafePointer<FlatJSONField>
    /// How many fields there are.
    let fieldCount: Int

    /// The field at `index`.
    @inline(__always)
    func field(_ index: Int) -> FlatJSONField { fields[index] }

    // MARK: Fields

    /// The index of the first field named `key`, or `nil`.
    func find(_ key: some CodingKey) -> Int? {
        var name = key.stringValue
        return name.withUTF8 { wanted in
            for index in 0..<fieldCount {
                let field = fields[index]
                if field.keyEscaped {
                    if keyString(index) == String(decoding: wanted, as: UTF8.self) { return index }
                } else if field.keyEnd - field.keyStart == wanted.count
                    && Self.equal(bytes + field.keyStart, wanted.baseAddress, wanted.count)
                {
                    return index
                }
            }
            return nil
        }
    }

    /// Whether `count` bytes at `a` and `b` are equal; keys are short, so this beats a call to
    /// `memcmp`.
    @inline(__always)
    private static func equal(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>?, _ count: Int) -> Bool {
        guard let b else { return count == 0 }
        var offset = 0
        while offset + 8 <= count {
            if UnsafeRawPointer(a + offset).loadUnaligned(as: UInt64.self)
                != UnsafeRawPointer(b + offset).loadUnaligned(as: UInt64.self)
            {
                return false
            }
            offset += 8
        }
        while offset < count {
            if a[offset] != b[offset] { return false }
            offset += 1
        }
        return true
    }

    /// The index of the field named `key`.
    /// - Throws: `DecodingError.keyNotFound` when there is none.
    func index(of key: some CodingKey) throws -> Int {
        guard let index = find(key) else {
            throw DecodingError.keyNotFound(
                key,
                DecodingError.Context(
                    codingPath: [],
                    debugDescription: "No value associated with key \"\(key.stringValue)\"."
                )
            )
        }
        return index
    }

    /// The index of the field named `key`, or `nil` when it is missing or `null`.
    func presentIndex(of key: some CodingKey) -> Int? {
        guard let index = find(key), field(index).kind != .null else { return nil }
        return index
    }

    /// The text of a field's key.
    func keyString(_ index: Int) -> String {
        let field = field(index)
        if field.keyEscaped { return unescape(field.keyStart, field.keyEnd) }
        return String(
            decoding: UnsafeBufferPointer(start: bytes + field.keyStart, count: field.keyEnd - field.keyStart),
            as: UTF8.self
        )
    }

    // MARK: Conversions

    /// A `typeMismatch` (or `valueNotFound` for `null`) for the value at `index`.
    func mismatch(_ type: Any.Type, at index: Int?, path: [any CodingKey]) -> DecodingError {
        guard let index else {
            return .typeMismatch(
                type,
                DecodingError.Context(
                    codingPath: path,
                    debugDescription: "Expected to decode \(type) but found an object instead."
                )
            )
        }
        let field = field(index)
        if field.kind == .null {
            return .valueNotFound(
                type,
                DecodingError.Context(
                    codingPath: path,
                    debugDescription: "Cannot get value of type \(type) -- found null value instead."
                )
            )
        }
        let found: String
        switch field.kind {
        case .string:
            let length = field.valueEnd - field.valueStart
            let text = String(
                decoding: UnsafeBufferPointer(start: bytes + field.valueStart, count: Swift.min(length, 40)),
                as: UTF8.self
            )
            found = "string \"\(text)\(length > 40 ? "…" : "")\""
        case .number, .true, .false:
            let text = String(
                decoding: UnsafeBufferPointer(
                    start: bytes + field.valueStart,
                    count: field.valueEnd - field.valueStart
                ),
                as: UTF8.self
            )
            found = "\(field.kind.name) \(text)"
        case .object, .array:
            return .typeMismatch(
                type,
                DecodingError.Context(
                    codingPath: path,
                    debugDescription:
                        "Expected to decode \(type) but found \(field.kind.name): FlatJSONDecoder decodes "
                        + "flat objects only, use JSONDecoder for nested JSON.",
                    underlyingError: FlatJSONDecoder.NestedValue()
                )
            )
        case .null:
            found = "null"
        }
        return .typeMismatch(
            type,
            DecodingError.Context(
                codingPath: path,
                debugDescription: "Expected to decode \(type) but found \(found) instead."
            )
        )
    }

    func string(at index: Int?, path: @autoclosure () -> [any CodingKey]) throws -> String {
        guard let index, field(index).kind == .string else { throw mismatch(String.self, at: index, path: path()) }
        let field = field(index)
        if field.valueEscaped { return unescape(field.valueStart, field.valueEnd) }
        // The scanner has checked the bytes as UTF-8; of the initialisers that check them again,
        // this one is the cheapest (about a fifth less than `String(decoding:as:)`).
        let text = UnsafeBufferPointer(start: bytes + field.valueStart, count: field.valueEnd - field.valueStart)
        return String(unsafeUninitializedCapacity: text.count) { buffer in
            _ = buffer.initialize(from: text)
            return text.count
        }
    }

    func bool(at index: Int?, path: @autoclosure () -> [any CodingKey]) throws -> Bool {
        guard let index else { throw mismatch(Bool.self, at: index, path: path()) }
        switch field(index).kind {
        case .true: return true
        case .false: return false
        default: throw mismatch(Bool.self, at: index, path: path())
        }
    }

    func integer<I: FixedWidthInteger>(_ type: I.Type, at index: Int?, path: @autoclosure () -> [any CodingKey]) throws
        -> I
    {
        guard let index, field(index).kind == .number else { throw mismatch(I.self, at: index, path: path()) }
        let field = field(index)
        if field.isInteger {
            if let value = FieldText.integer(I.self, bytes + field.valueStart, field.valueEnd - field.valueStart) {
                return value
            }
        } else {
            // A fraction or an exponent: accepted when the number is a whole number that fits, as
            // JSONDecoder accepts 1e2 and 42.0 for integers.
            let value = try double(at: index, path: path())
            if let exact = I(exactly: value) { return exact }
        }
        throw DecodingError.dataCorrupted(
            DecodingError.Context(
                codingPath: path(),
                debugDescription: "Number \(text(field)) does not fit in \(I.self)."
            )
        )
    }

    func double(at index: Int?, path: @autoclosure () -> [any CodingKey]) throws -> Double {
        guard let index, field(index).kind == .number else { throw mismatch(Double.self, at: index, path: path()) }
        let field = field(index)
        if let value = FieldText.fastDouble(bytes + field.valueStart, field.valueEnd - field.valueStart) {
            return value
        }
        guard let value = Double(text(field)), value.isFinite else {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(
                    codingPath: path(),
                    debugDescription: "Number \(text(field)) is not representable in Double."
                )
            )
        }
        return value
    }

    func float(at index: Int?, path: @autoclosure () -> [any CodingKey]) throws -> Float {
        guard let index, field(index).kind == .number else { throw mismatch(Float.self, at: index, path: path()) }
        let field = field(index)
        guard let value = Float(text(field)), value.isFinite else {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(
                    codingPath: path(),
                    debugDescription: "Number \(text(field)) is not representable in Float."
                )
            )
        }
        return value
    }

    /// The raw text of a field's value.
    func text(_ field: FlatJSONField) -> String {
        String(
            decoding: UnsafeBufferPointer(start: bytes + field.valueStart, count: field.valueEnd - field.valueStart),
            as: UTF8.self
        )
    }

    /// The text of a string with escapes, which the scanner has checked.
    func unescape(_ start: Int, _ end: Int) -> String {
        var utf8: [UInt8] = []
        utf8.reserveCapacity(end - start)
        var position = start
        func hex(at offset: Int) -> UInt32 {
            var unit: UInt32 = 0
            for digit in offset..<(offset + 4) { unit = unit << 4 | UInt32(FlatJSONScanner.hexValue(bytes[digit])!) }
            return unit
        }
        while position < end {
            let byte = bytes[position]
            guard byte == UInt8(ascii: "\\") else {
                utf8.append(byte)
                position += 1
                continue
            }
            let escape = bytes[position + 1]
            position += 2
            switch escape {
            case UInt8(ascii: "b"): utf8.append(0x08)
            case UInt8(ascii: "f"): utf8.append(0x0C)
            case UInt8(ascii: "n"): utf8.append(0x0A)
            case UInt8(ascii: "r"): utf8.append(0x0D)
            case UInt8(ascii: "t"): utf8.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = hex(at: position)
                position += 4
                if (0xD800...0xDBFF).contains(scalar) {
                    let low = hex(at: position + 2)
                    position += 6
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                utf8.append(contentsOf: UTF8.encode(Unicode.Scalar(scalar)!)!)
            default: utf8.append(escape)  // \" \\ \/
            }
        }
        return String(decoding: utf8, as: UTF8.self)
    }

    // MARK: Any Decodable

    /// Decodes `T` from the field at `index`, or from the whole object when `index` is `nil`.
    ///
    /// Common types are converted directly, without a `Decoder`: the standard library's numbers,
    /// `String`, `Bool`, ``Timestamp``, and the Foundation types that `JSONDecoder` special-cases
    /// (`Data` as Base64, `URL`, `Decimal`) with its default strategies. Every other type decodes
    /// itself from a ``FlatJSONFieldDecoder`` (or the object's decoder).
    func decode<T: Decodable>(_ type: T.Type, at index: Int?, path: @autoclosure () -> [any CodingKey]) throws -> T {
        // `unsafeBitCast` after an equality test of metatypes: the value has type T, and a cast
        // with `as!` would go through the runtime's dynamic cast.
        if T.self == String.self { return unsafeBitCast(try string(at: index, path: path()), to: T.self) }
        if T.self == Double.self { return unsafeBitCast(try double(at: index, path: path()), to: T.self) }
        if T.self == Int.self { return unsafeBitCast(try integer(Int.self, at: index, path: path()), to: T.self) }
        if T.self == Timestamp.self, let index, let timestamp = fastTimestamp(field(index)) {
            return unsafeBitCast(timestamp, to: T.self)
        }
        if let index {
            if T.self == Data.self { return try data(at: index, path: path()) as! T }
            if T.self == URL.self { return try url(at: index, path: path()) as! T }
            if T.self == Decimal.self { return try decimal(at: index, path: path()) as! T }
            return try T(from: FlatJSONFieldDecoder(reader: self, index: index, codingPath: path()))
        }
        return try T(from: FlatJSONObjectDecoder(reader: self))
    }

    /// A ``Timestamp`` parsed straight from the bytes, as `Timestamp.init(from:)` would decode it
    /// (an integer number of microseconds, or ISO 8601 text); `nil` when that path must run, for
    /// its result or its error.
    private func fastTimestamp(_ field: FlatJSONField) -> Timestamp? {
        switch field.kind {
        case .string where !field.valueEscaped:
            let start = bytes + field.valueStart
            let length = field.valueEnd - field.valueStart
            if let timestamp = FieldText.commonISO8601(start, length) { return timestamp }
            let text = UnsafeBufferPointer(start: start, count: length)
            if case .success(let timestamp) = Timestamp.parseISO8601(text) { return timestamp }
            return nil
        case .number where field.isInteger:
            var position = field.valueStart
            let negative = bytes[position] == UInt8(ascii: "-")
            if negative { position += 1 }
            guard field.valueEnd - position <= 18 else { return nil }  // no overflow below 10^18
            var micros: Int64 = 0
            while position < field.valueEnd {
                micros = micros * 10 + Int64(bytes[position] &- UInt8(ascii: "0"))
                position += 1
            }
            return Timestamp(microseconds: negative ? -micros : micros)
        default:
            return nil
        }
    }

    private func data(at index: Int, path: @autoclosure () -> [any CodingKey]) throws -> Data {
        guard let data = Data(base64Encoded: try string(at: index, path: path())) else {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(codingPath: path(), debugDescription: "Encountered Data is not valid Base64.")
            )
        }
        return data
    }

    private func url(at index: Int, path: @autoclosure () -> [any CodingKey]) throws -> URL {
        guard let url = URL(string: try string(at: index, path: path())) else {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(codingPath: path(), debugDescription: "Invalid URL string.")
            )
        }
        return url
    }

    private func decimal(at index: Int, path: @autoclosure () -> [any CodingKey]) throws -> Decimal {
        guard field(index).kind == .number else { throw mismatch(Decimal.self, at: index, path: path()) }
        guard let decimal = Decimal(string: text(field(index)), locale: Locale(identifier: "en_US_POSIX")) else {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(
                    codingPath: path(),
                    debugDescription: "Number \(text(field(index))) is not representable in Decimal."
                )
            )
        }
        return decimal
    }
}

// MARK: - Decoders and containers

/// The decoder of the whole object: a keyed container over its fields.
struct FlatJSONObjectDecoder: Decoder {
    let reader: FlatJSONReader

    /// The object is the top level.
    var codingPath: [any CodingKey] { [] }
    /// No user info.
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(FlatJSONKeyedContainer<Key>(reader: reader))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw reader.mismatch([Any].self, at: nil, path: [])
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        FlatJSONObjectValue(reader: reader)
    }
}

/// The object seen as one value: a type that decodes from a single-value container can pass the
/// object on to another `Decodable` type; primitives do not decode from it.
struct FlatJSONObjectValue: SingleValueDecodingContainer {
    let reader: FlatJSONReader

    var codingPath: [any CodingKey] { [] }

    func decodeNil() -> Bool { false }
    func decode(_ type: Bool.Type) throws -> Bool { throw reader.mismatch(type, at: nil, path: []) }
    func decode(_ type: String.Type) throws -> String { throw reader.mismatch(type, at: nil, path: []) }
    func decode(_ type: Double.Type) throws -> Double { throw reader.mismatch(type, at: nil, path: []) }
    func decode(_ type: Float.Type) throws -> Float { throw reader.mismatch(type, at: nil, path: []) }
    func decode(_ type: Int.Type) throws -> Int { throw reader.mismatch(type, at: nil, path: []) }
    func decode(_ type: Int8.Type) throws -> Int8 { throw reader.mismatch(type, at: nil, path: []) }
    func decode(_ type: Int16.Type) throws -> Int16 { throw reader.mismatch(type, at: nil, path: []) }
    func decode(_ type: Int32.Type) throws -> Int32 { throw reader.mismatch(type, at: nil, path: []) }
    func decode(_ type: Int64.Type) throws -> Int64 { throw reader.mismatch(type, at: nil, path: []) }
    func decode(_ type: UInt.Type) throws -> UInt { throw reader.mismatch(type, at: nil, path: []) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { throw reader.mismatch(type, at: nil, path: []) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { throw reader.mismatch(type, at: nil, path: []) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { throw reader.mismatch(type, at: nil, path: []) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { throw reader.mismatch(type, at: nil, path: []) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try reader.decode(type, at: nil, path: []) }
}

/// The fields of the object, by key.
struct FlatJSONKeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let reader: FlatJSONReader

    var codingPath: [any CodingKey] { [] }

    /// The keys of the object that `Key` can represent, each once, in the order of the payload.
    var allKeys: [Key] {
        var seen: Set<String> = []
        return (0..<reader.fieldCount).compactMap { index in
            let name = reader.keyString(index)
            guard seen.insert(name).inserted else { return nil }
            return Key(stringValue: name)
        }
    }

    func contains(_ key: Key) -> Bool { reader.find(key) != nil }

    func decodeNil(forKey key: Key) throws -> Bool { reader.field(try reader.index(of: key)).kind == .null }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool {
        try reader.bool(at: try reader.index(of: key), path: [key])
    }
    func decode(_ type: String.Type, forKey key: Key) throws -> String {
        try reader.string(at: try reader.index(of: key), path: [key])
    }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double {
        try reader.double(at: try reader.index(of: key), path: [key])
    }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float {
        try reader.float(at: try reader.index(of: key), path: [key])
    }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int {
        try reader.integer(type, at: try reader.index(of: key), path: [key])
    }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 {
        try reader.integer(type, at: try reader.index(of: key), path: [key])
    }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 {
        try reader.integer(type, at: try reader.index(of: key), path: [key])
    }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 {
        try reader.integer(type, at: try reader.index(of: key), path: [key])
    }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 {
        try reader.integer(type, at: try reader.index(of: key), path: [key])
    }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt {
        try reader.integer(type, at: try reader.index(of: key), path: [key])
    }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 {
        try reader.integer(type, at: try reader.index(of: key), path: [key])
    }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 {
        try reader.integer(type, at: try reader.index(of: key), path: [key])
    }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 {
        try reader.integer(type, at: try reader.index(of: key), path: [key])
    }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 {
        try reader.integer(type, at: try reader.index(of: key), path: [key])
    }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try reader.decode(type, at: try reader.index(of: key), path: [key])
    }

    // One look-up each, where the default implementations make three (contains, decodeNil, decode).
    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? {
        guard let index = reader.presentIndex(of: key) else { return nil }
        return try reader.bool(at: index, path: [key])
    }
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? {
        guard let index = reader.presentIndex(of: key) else { return nil }
        return try reader.string(at: index, path: [key])
    }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? {
        guard let index = reader.presentIndex(of: key) else { return nil }
        return try reader.double(at: index, path: [key])
    }
    func decodeIfPresent(_ type: Float.Type, forKey key: Key) throws -> Float? {
        guard let index = reader.presentIndex(of: key) else { return nil }
        return try reader.float(at: index, path: [key])
    }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? {
        try integerIfPresent(type, forKey: key)
    }
    func decodeIfPresent(_ type: Int8.Type, forKey key: Key) throws -> Int8? {
        try integerIfPresent(type, forKey: key)
    }
    func decodeIfPresent(_ type: Int16.Type, forKey key: Key) throws -> Int16? {
        try integerIfPresent(type, forKey: key)
    }
    func decodeIfPresent(_ type: Int32.Type, forKey key: Key) throws -> Int32? {
        try integerIfPresent(type, forKey: key)
    }
    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? {
        try integerIfPresent(type, forKey: key)
    }
    func decodeIfPresent(_ type: UInt.Type, forKey key: Key) throws -> UInt? {
        try integerIfPresent(type, forKey: key)
    }
    func decodeIfPresent(_ type: UInt8.Type, forKey key: Key) throws -> UInt8? {
        try integerIfPresent(type, forKey: key)
    }
    func decodeIfPresent(_ type: UInt16.Type, forKey key: Key) throws -> UInt16? {
        try integerIfPresent(type, forKey: key)
    }
    func decodeIfPresent(_ type: UInt32.Type, forKey key: Key) throws -> UInt32? {
        try integerIfPresent(type, forKey: key)
    }
    func decodeIfPresent(_ type: UInt64.Type, forKey key: Key) throws -> UInt64? {
        try integerIfPresent(type, forKey: key)
    }
    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard let index = reader.presentIndex(of: key) else { return nil }
        return try reader.decode(type, at: index, path: [key])
    }

    private func integerIfPresent<I: FixedWidthInteger>(_ type: I.Type, forKey key: Key) throws -> I? {
        guard let index = reader.presentIndex(of: key) else { return nil }
        return try reader.integer(type, at: index, path: [key])
    }

    func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type,
        forKey key: Key
    ) throws -> KeyedDecodingContainer<NestedKey> {
        throw reader.mismatch([String: Any].self, at: try reader.index(of: key), path: [key])
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        throw reader.mismatch([Any].self, at: try reader.index(of: key), path: [key])
    }

    func superDecoder() throws -> any Decoder {
        let key = FlatJSONSuperKey()
        return FlatJSONFieldDecoder(reader: reader, index: try reader.index(of: key), codingPath: [key])
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        FlatJSONFieldDecoder(reader: reader, index: try reader.index(of: key), codingPath: [key])
    }
}

/// The key `super`, under which `superDecoder()` finds a superclass's value.
struct FlatJSONSuperKey: CodingKey {
    var stringValue: String { "super" }
    var intValue: Int? { nil }
    init() {}
    init?(stringValue: String) { if stringValue != "super" { return nil } }
    init?(intValue: Int) { nil }
}

/// The decoder of one field's value, for types that decode themselves from a single value.
///
/// A class, so that passing it as `any Decoder` and its container as `any
/// SingleValueDecodingContainer` stores one reference in the existential instead of boxing a struct
/// (it is larger than an existential's inline buffer).
final class FlatJSONFieldDecoder: Decoder {
    let reader: FlatJSONReader
    let index: Int
    let codingPath: [any CodingKey]

    init(reader: FlatJSONReader, index: Int, codingPath: [any CodingKey]) {
        self.reader = reader
        self.index = index
        self.codingPath = codingPath
    }

    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        throw reader.mismatch([String: Any].self, at: index, path: codingPath)
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw reader.mismatch([Any].self, at: index, path: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { FlatJSONFieldValue(decoder: self) }
}

/// One field's value.
struct FlatJSONFieldValue: SingleValueDecodingContainer {
    let decoder: FlatJSONFieldDecoder

    var codingPath: [any CodingKey] { decoder.codingPath }
    private var reader: FlatJSONReader { decoder.reader }
    private var index: Int { decoder.index }

    func decodeNil() -> Bool { reader.field(index).kind == .null }
    func decode(_ type: Bool.Type) throws -> Bool { try reader.bool(at: index, path: codingPath) }
    func decode(_ type: String.Type) throws -> String { try reader.string(at: index, path: codingPath) }
    func decode(_ type: Double.Type) throws -> Double { try reader.double(at: index, path: codingPath) }
    func decode(_ type: Float.Type) throws -> Float { try reader.float(at: index, path: codingPath) }
    func decode(_ type: Int.Type) throws -> Int { try reader.integer(type, at: index, path: codingPath) }
    func decode(_ type: Int8.Type) throws -> Int8 { try reader.integer(type, at: index, path: codingPath) }
    func decode(_ type: Int16.Type) throws -> Int16 { try reader.integer(type, at: index, path: codingPath) }
    func decode(_ type: Int32.Type) throws -> Int32 { try reader.integer(type, at: index, path: codingPath) }
    func decode(_ type: Int64.Type) throws -> Int64 { try reader.integer(type, at: index, path: codingPath) }
    func decode(_ type: UInt.Type) throws -> UInt { try reader.integer(type, at: index, path: codingPath) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try reader.integer(type, at: index, path: codingPath) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try reader.integer(type, at: index, path: codingPath) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try reader.integer(type, at: index, path: codingPath) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try reader.integer(type, at: index, path: codingPath) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try reader.decode(type, at: index, path: codingPath) }
}

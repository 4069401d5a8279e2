/// A compact, self-describing binary encoding of `Codable` state for checkpoints: much faster and
/// smaller than JSON.
///
/// Every value starts with a tag byte: nil, false, true, a signed or unsigned integer (a zigzag or
/// plain LEB128 varint follows), a double (8 bytes), a string (a varint length and UTF-8), a keyed
/// container (entries `1, key, value`, then `0`) or an unkeyed container (entries `1, value`, then
/// `0`). Values delimit themselves, so a decoder can skip what it does not ask for (optional
/// properties) and list the keys of a container (dictionaries). Keys are found by scanning from the
/// entry after the previous one: decoding in declaration order costs one comparison per key.
enum BinaryStateCoder {
    static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let buffer = BinaryWriter()
        try buffer.encodeValue(value, codingPath: [])
        buffer.closeContainers(downTo: 0)
        return buffer.bytes
    }

    static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try T(from: BinaryReadingDecoder(reader: BinaryReader(bytes: bytes), position: 0, codingPath: []))
    }

    enum Tag: UInt8 {
        case null = 0, falseValue, trueValue, signed, unsigned, double, string, keyed, unkeyed
    }

    struct Malformed: Error, CustomStringConvertible {
        var reason: String
        var description: String { "malformed binary state: \(reason)" }
    }
}

// MARK: - Writing

/// The bytes being written, and the containers still open (closed, innermost first, before their
/// parent writes on).
final class BinaryWriter {
    var bytes: [UInt8] = []
    /// The ids of the open containers, outermost first.
    var open: [Int] = []
    private var nextID = 0

    init() { bytes.reserveCapacity(1 << 16) }

    func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    func string(_ text: String) {
        var text = text
        text.withUTF8 { utf8 in
            varint(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    func signed(_ value: Int64) {
        bytes.append(BinaryStateCoder.Tag.signed.rawValue)
        varint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    func unsigned(_ value: UInt64) {
        bytes.append(BinaryStateCoder.Tag.unsigned.rawValue)
        varint(value)
    }

    /// Opens a container: writes its tag and returns its id.
    func openContainer(_ tag: BinaryStateCoder.Tag) -> Int {
        bytes.append(tag.rawValue)
        nextID += 1
        open.append(nextID)
        return nextID
    }

    /// Closes the containers opened after `id` (nested ones the caller finished with).
    func closeContainers(after id: Int) {
        while let last = open.last, last != id {
            open.removeLast()
            bytes.append(0)
        }
    }

    /// Closes every container deeper than `depth`.
    func closeContainers(downTo depth: Int) {
        while open.count > depth {
            open.removeLast()
            bytes.append(0)
        }
    }

    /// Writes a value, closing the containers it opened.
    func encodeValue<T: Encodable>(_ value: T, codingPath: [any CodingKey]) throws {
        let depth = open.count
        // Metatype comparisons, not casts: they cost a pointer comparison in generic code.
        if T.self == Int.self {
            signed(Int64(unsafeBitCast(value, to: Int.self)))
        } else if T.self == Int64.self {
            signed(unsafeBitCast(value, to: Int64.self))
        } else if T.self == UInt64.self {
            unsigned(unsafeBitCast(value, to: UInt64.self))
        } else if T.self == Double.self {
            bytes.append(BinaryStateCoder.Tag.double.rawValue)
            withUnsafeBytes(of: unsafeBitCast(value, to: Double.self).bitPattern.littleEndian) {
                bytes.append(contentsOf: $0)
            }
        } else if T.self == String.self {
            bytes.append(BinaryStateCoder.Tag.string.rawValue)
            string(value as! String)
        } else if T.self == [UInt8].self {
            // Raw bytes in one piece, as a string's.
            let raw = value as! [UInt8]
            bytes.append(BinaryStateCoder.Tag.string.rawValue)
            varint(UInt64(raw.count))
            bytes.append(contentsOf: raw)
        } else {
            try value.encode(to: BinaryWritingEncoder(writer: self, codingPath: codingPath))
        }
        closeContainers(downTo: depth)
    }
}

struct BinaryWritingEncoder: Encoder {
    let writer: BinaryWriter
    var codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(
            Keyed<Key>(writer: writer, id: writer.openContainer(.keyed), codingPath: codingPath)
        )
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        Unkeyed(writer: writer, id: writer.openContainer(.unkeyed), codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        Single(writer: writer, codingPath: codingPath)
    }

    struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let writer: BinaryWriter
        let id: Int
        var codingPath: [any CodingKey]

        private func begin(_ key: Key) {
            writer.closeContainers(after: id)
            writer.bytes.append(1)
            writer.string(key.stringValue)
        }

        mutating func encodeNil(forKey key: Key) throws {
            begin(key)
            writer.bytes.append(BinaryStateCoder.Tag.null.rawValue)
        }

        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            begin(key)
            try writer.encodeValue(value, codingPath: codingPath)
        }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
            -> KeyedEncodingContainer<NestedKey>
        {
            begin(key)
            return BinaryWritingEncoder(writer: writer, codingPath: codingPath).container(keyedBy: keyType)
        }

        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            begin(key)
            return BinaryWritingEncoder(writer: writer, codingPath: codingPath).unkeyedContainer()
        }

        mutating func superEncoder() -> any Encoder {
            writer.closeContainers(after: id)
            writer.bytes.append(1)
            writer.string("super")
            return BinaryWritingEncoder(writer: writer, codingPath: codingPath)
        }

        mutating func superEncoder(forKey key: Key) -> any Encoder {
            begin(key)
            return BinaryWritingEncoder(writer: writer, codingPath: codingPath)
        }
    }

    struct Unkeyed: UnkeyedEncodingContainer {
        let writer: BinaryWriter
        let id: Int
        var codingPath: [any CodingKey]
        var count = 0

        init(writer: BinaryWriter, id: Int, codingPath: [any CodingKey]) {
            self.writer = writer
            self.id = id
            self.codingPath = codingPath
        }

        private mutating func begin() {
            writer.closeContainers(after: id)
            writer.bytes.append(1)
            count += 1
        }

        mutating func encodeNil() throws {
            begin()
            writer.bytes.append(BinaryStateCoder.Tag.null.rawValue)
        }

        mutating func encode<T: Encodable>(_ value: T) throws {
            begin()
            try writer.encodeValue(value, codingPath: codingPath)
        }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type)
            -> KeyedEncodingContainer<NestedKey>
        {
            begin()
            return BinaryWritingEncoder(writer: writer, codingPath: codingPath).container(keyedBy: keyType)
        }

        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
            begin()
            return BinaryWritingEncoder(writer: writer, codingPath: codingPath).unkeyedContainer()
        }

        mutating func superEncoder() -> any Encoder {
            begin()
            return BinaryWritingEncoder(writer: writer, codingPath: codingPath)
        }
    }

    struct Single: SingleValueEncodingContainer {
        let writer: BinaryWriter
        var codingPath: [any CodingKey]

        mutating func encodeNil() throws { writer.bytes.append(BinaryStateCoder.Tag.null.rawValue) }
        mutating func encode(_ value: Bool) throws {
            writer.bytes.append(
                value ? BinaryStateCoder.Tag.trueValue.rawValue : BinaryStateCoder.Tag.falseValue.rawValue
            )
        }
        mutating func encode(_ value: String) throws {
            writer.bytes.append(BinaryStateCoder.Tag.string.rawValue)
            writer.string(value)
        }
        mutating func encode(_ value: Double) throws {
            writer.bytes.append(BinaryStateCoder.Tag.double.rawValue)
            withUnsafeBytes(of: value.bitPattern.littleEndian) { writer.bytes.append(contentsOf: $0) }
        }
        mutating func encode(_ value: Float) throws { try encode(Double(value)) }
        mutating func encode(_ value: Int) throws { writer.signed(Int64(value)) }
        mutating func encode(_ value: Int8) throws { writer.signed(Int64(value)) }
        mutating func encode(_ value: Int16) throws { writer.signed(Int64(value)) }
        mutating func encode(_ value: Int32) throws { writer.signed(Int64(value)) }
        mutating func encode(_ value: Int64) throws { writer.signed(value) }
        mutating func encode(_ value: UInt) throws { writer.unsigned(UInt64(value)) }
        mutating func encode(_ value: UInt8) throws { writer.unsigned(UInt64(value)) }
        mutating func encode(_ value: UInt16) throws { writer.unsigned(UInt64(value)) }
        mutating func encode(_ value: UInt32) throws { writer.unsigned(UInt64(value)) }
        mutating func encode(_ value: UInt64) throws { writer.unsigned(value) }
        mutating func encode<T: Encodable>(_ value: T) throws {
            try writer.encodeValue(value, codingPath: codingPath)
        }
    }
}

// MARK: - Reading

/// The bytes being read, with the primitives of the format.
final class BinaryReader {
    let bytes: [UInt8]

    init(bytes: [UInt8]) { self.bytes = bytes }

    func byte(at position: Int) throws -> UInt8 {
        guard position < bytes.count else { throw BinaryStateCoder.Malformed(reason: "unexpected end at \(position)") }
        return bytes[position]
    }

    func varint(at position: inout Int) throws -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try byte(at: position)
            position += 1
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
            if shift > 63 { throw BinaryStateCoder.Malformed(reason: "varint too long at \(position)") }
        }
    }

    /// The range of a string's bytes (its length has been read) and the position after it.
    func stringRange(at position: inout Int) throws -> Range<Int> {
        let length = Int(try varint(at: &position))
        guard position + length <= bytes.count else {
            throw BinaryStateCoder.Malformed(reason: "string past the end at \(position)")
        }
        defer { position += length }
        return position..<(position + length)
    }

    /// The position after the value at `position`.
    func skipValue(at position: Int) throws -> Int {
        var position = position
        let tag = try byte(at: position)
        position += 1
        switch BinaryStateCoder.Tag(rawValue: tag) {
        case .null, .falseValue, .trueValue: return position
        case .signed, .unsigned:
            _ = try varint(at: &position)
            return position
        case .double: return position + 8
        case .string:
            _ = try stringRange(at: &position)
            return position
        case .keyed:
            while try byte(at: position) == 1 {
                position += 1
                _ = try stringRange(at: &position)
                position = try skipValue(at: position)
            }
            return position + 1
        case .unkeyed:
            while try byte(at: position) == 1 {
                position = try skipValue(at: position + 1)
            }
            return position + 1
        case nil:
            throw BinaryStateCoder.Malformed(reason: "unknown tag \(tag) at \(position - 1)")
        }
    }

    func expect(_ tag: BinaryStateCoder.Tag, at position: Int, for type: Any.Type, codingPath: [any CodingKey]) throws {
        let found = try byte(at: position)
        guard found == tag.rawValue else {
            throw DecodingError.typeMismatch(
                type,
                .init(codingPath: codingPath, debugDescription: "found tag \(found) where \(tag) was expected")
            )
        }
    }

    func integer(at position: Int, codingPath: [any CodingKey]) throws -> Int64 {
        var cursor = position + 1
        switch try byte(at: position) {
        case BinaryStateCoder.Tag.signed.rawValue:
            let raw = try varint(at: &cursor)
            return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
        case BinaryStateCoder.Tag.unsigned.rawValue:
            return Int64(bitPattern: try varint(at: &cursor))
        default:
            throw DecodingError.typeMismatch(
                Int.self,
                .init(codingPath: codingPath, debugDescription: "not an integer")
            )
        }
    }

    func double(at position: Int, codingPath: [any CodingKey]) throws -> Double {
        try expect(.double, at: position, for: Double.self, codingPath: codingPath)
        guard position + 9 <= bytes.count else { throw BinaryStateCoder.Malformed(reason: "double past the end") }
        var bits: UInt64 = 0
        for index in 0..<8 { bits |= UInt64(bytes[position + 1 + index]) << (8 * UInt64(index)) }
        return Double(bitPattern: bits)
    }

    func string(at position: Int, codingPath: [any CodingKey]) throws -> String {
        try expect(.string, at: position, for: String.self, codingPath: codingPath)
        var cursor = position + 1
        let range = try stringRange(at: &cursor)
        return String(decoding: bytes[range], as: UTF8.self)
    }

    /// Decodes a value at `position`, with fast paths for the common primitives.
    func decodeValue<T: Decodable>(_ type: T.Type, at position: Int, codingPath: [any CodingKey]) throws -> T {
        if T.self == Int.self { return Int(try integer(at: position, codingPath: codingPath)) as! T }
        if T.self == Int64.self { return try integer(at: position, codingPath: codingPath) as! T }
        if T.self == Double.self { return try double(at: position, codingPath: codingPath) as! T }
        if T.self == String.self { return try string(at: position, codingPath: codingPath) as! T }
        if T.self == [UInt8].self {
            try expect(.string, at: position, for: [UInt8].self, codingPath: codingPath)
            var cursor = position + 1
            return Array(bytes[try stringRange(at: &cursor)]) as! T
        }
        return try T(from: BinaryReadingDecoder(reader: self, position: position, codingPath: codingPath))
    }
}

struct BinaryReadingDecoder: Decoder {
    let reader: BinaryReader
    let position: Int
    var codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        try reader.expect(.keyed, at: position, for: [String: Any].self, codingPath: codingPath)
        // Checks that the container is whole, since `allKeys` cannot report an error.
        _ = try reader.skipValue(at: position)
        return KeyedDecodingContainer(
            Keyed<Key>(reader: reader, start: position + 1, cursor: Cursor(position + 1), codingPath: codingPath)
        )
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try reader.expect(.unkeyed, at: position, for: [Any].self, codingPath: codingPath)
        return Unkeyed(reader: reader, position: position + 1, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        Single(reader: reader, position: position, codingPath: codingPath)
    }

    /// Where a keyed container's scan for the next key starts.
    final class Cursor {
        var next: Int
        init(_ next: Int) { self.next = next }
    }

    struct Keyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let reader: BinaryReader
        let start: Int
        let cursor: Cursor
        var codingPath: [any CodingKey]

        var allKeys: [Key] {
            var keys: [Key] = []
            var position = start
            while (try? reader.byte(at: position)) == 1 {
                position += 1
                guard let range = try? reader.stringRange(at: &position),
                    let next = try? reader.skipValue(at: position)
                else { break }
                if let key = Key(stringValue: String(decoding: reader.bytes[range], as: UTF8.self)) { keys.append(key) }
                position = next
            }
            return keys
        }

        /// The position of `key`'s value: scans from the cursor to the end, then from the start.
        private func find(_ key: Key) throws -> Int? {
            let wanted = key.stringValue.utf8
            for from in [cursor.next, start] {
                var position = from
                while try reader.byte(at: position) == 1 {
                    position += 1
                    let range = try reader.stringRange(at: &position)
                    let value = position
                    position = try reader.skipValue(at: value)
                    if reader.bytes[range].elementsEqual(wanted) {
                        cursor.next = position
                        return value
                    }
                }
                if from == start { break }
            }
            return nil
        }

        private func value(_ key: Key) throws -> Int {
            guard let position = try find(key) else {
                throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "no entry"))
            }
            return position
        }

        func contains(_ key: Key) -> Bool { (try? find(key)) != nil }

        func decodeNil(forKey key: Key) throws -> Bool {
            try reader.byte(at: try value(key)) == BinaryStateCoder.Tag.null.rawValue
        }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            try reader.decodeValue(type, at: try value(key), codingPath: codingPath)
        }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
            -> KeyedDecodingContainer<NestedKey>
        {
            try BinaryReadingDecoder(reader: reader, position: try value(key), codingPath: codingPath)
                .container(keyedBy: type)
        }

        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            try BinaryReadingDecoder(reader: reader, position: try value(key), codingPath: codingPath)
                .unkeyedContainer()
        }

        func superDecoder() throws -> any Decoder {
            guard let key = Key(stringValue: "super") else {
                throw DecodingError.dataCorrupted(.init(codingPath: codingPath, debugDescription: "no super key"))
            }
            return BinaryReadingDecoder(reader: reader, position: try value(key), codingPath: codingPath)
        }

        func superDecoder(forKey key: Key) throws -> any Decoder {
            BinaryReadingDecoder(reader: reader, position: try value(key), codingPath: codingPath)
        }
    }

    struct Unkeyed: UnkeyedDecodingContainer {
        let reader: BinaryReader
        var position: Int
        var codingPath: [any CodingKey]
        var currentIndex = 0

        init(reader: BinaryReader, position: Int, codingPath: [any CodingKey]) {
            self.reader = reader
            self.position = position
            self.codingPath = codingPath
        }

        var count: Int? { nil }
        var isAtEnd: Bool { (try? reader.byte(at: position)) != 1 }

        private mutating func next() throws -> Int {
            guard try reader.byte(at: position) == 1 else {
                throw DecodingError.valueNotFound(
                    Any.self,
                    .init(codingPath: codingPath, debugDescription: "no element \(currentIndex)")
                )
            }
            let value = position + 1
            position = try reader.skipValue(at: value)
            currentIndex += 1
            return value
        }

        mutating func decodeNil() throws -> Bool {
            guard try reader.byte(at: position) == 1,
                try reader.byte(at: position + 1) == BinaryStateCoder.Tag.null.rawValue
            else { return false }
            _ = try next()
            return true
        }

        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
            let value = try next()
            return try reader.decodeValue(type, at: value, codingPath: codingPath)
        }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws
            -> KeyedDecodingContainer<NestedKey>
        {
            try BinaryReadingDecoder(reader: reader, position: try next(), codingPath: codingPath).container(
                keyedBy: type
            )
        }

        mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
            try BinaryReadingDecoder(reader: reader, position: try next(), codingPath: codingPath).unkeyedContainer()
        }

        mutating func superDecoder() throws -> any Decoder {
            BinaryReadingDecoder(reader: reader, position: try next(), codingPath: codingPath)
        }
    }

    struct Single: SingleValueDecodingContainer {
        let reader: BinaryReader
        let position: Int
        var codingPath: [any CodingKey]

        func decodeNil() -> Bool { (try? reader.byte(at: position)) == BinaryStateCoder.Tag.null.rawValue }
        func decode(_ type: Bool.Type) throws -> Bool {
            switch try reader.byte(at: position) {
            case BinaryStateCoder.Tag.trueValue.rawValue: return true
            case BinaryStateCoder.Tag.falseValue.rawValue: return false
            default:
                throw DecodingError.typeMismatch(type, .init(codingPath: codingPath, debugDescription: "not a Bool"))
            }
        }
        func decode(_ type: String.Type) throws -> String { try reader.string(at: position, codingPath: codingPath) }
        func decode(_ type: Double.Type) throws -> Double { try reader.double(at: position, codingPath: codingPath) }
        func decode(_ type: Float.Type) throws -> Float { Float(try decode(Double.self)) }
        func decode(_ type: Int.Type) throws -> Int { Int(try integer(type)) }
        func decode(_ type: Int8.Type) throws -> Int8 { Int8(truncatingIfNeeded: try integer(type)) }
        func decode(_ type: Int16.Type) throws -> Int16 { Int16(truncatingIfNeeded: try integer(type)) }
        func decode(_ type: Int32.Type) throws -> Int32 { Int32(truncatingIfNeeded: try integer(type)) }
        func decode(_ type: Int64.Type) throws -> Int64 { try integer(type) }
        func decode(_ type: UInt.Type) throws -> UInt { UInt(truncatingIfNeeded: try integer(type)) }
        func decode(_ type: UInt8.Type) throws -> UInt8 { UInt8(truncatingIfNeeded: try integer(type)) }
        func decode(_ type: UInt16.Type) throws -> UInt16 { UInt16(truncatingIfNeeded: try integer(type)) }
        func decode(_ type: UInt32.Type) throws -> UInt32 { UInt32(truncatingIfNeeded: try integer(type)) }
        func decode(_ type: UInt64.Type) throws -> UInt64 { UInt64(bitPattern: try integer(type)) }
        func decode<T: Decodable>(_ type: T.Type) throws -> T {
            try reader.decodeValue(type, at: position, codingPath: codingPath)
        }

        private func integer(_ type: Any.Type) throws -> Int64 {
            try reader.integer(at: position, codingPath: codingPath)
        }
    }
}

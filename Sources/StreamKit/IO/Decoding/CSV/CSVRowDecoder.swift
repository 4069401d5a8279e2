import Foundation

/// Decodes a ``CSVRow`` into a `Decodable` type by column name: each property is read from the
/// column of the same name (`CodingKeys` map other names).
///
/// The common field types (`String`, the integers, `Double`, `Float`, `Bool`, ``Timestamp``) are
/// read straight from the row's bytes; other types decode themselves from the field's text through
/// a single-value container. An empty field decodes as `nil` for an optional property. The decoder
/// is three words of plain references, so that it and its keyed container fit in an existential's
/// inline buffer: decoding a row allocates nothing but what the type itself does.
struct CSVRowDecoder: Decoder {
    let row: CSVRow
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(KeyedContainer<Key>(row: row))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw DecodingError.typeMismatch(
            [Any].self,
            .init(codingPath: [], debugDescription: "a CSV row decodes into a struct, by column name")
        )
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        throw DecodingError.typeMismatch(
            Any.self,
            .init(codingPath: [], debugDescription: "a CSV row decodes into a struct, by column name")
        )
    }

    struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let row: CSVRow
        var codingPath: [any CodingKey] { [] }
        var allKeys: [Key] { row.header.names.compactMap { Key(stringValue: $0) } }

        func contains(_ key: Key) -> Bool { row.header.index(of: key.stringValue) != nil }

        @inline(__always)
        func column(_ key: Key) throws -> Int {
            guard let index = row.header.index(of: key.stringValue) else {
                throw DecodingError.keyNotFound(
                    key,
                    .init(codingPath: [], debugDescription: "the header has no column '\(key.stringValue)'")
                )
            }
            return index
        }

        func decodeNil(forKey key: Key) throws -> Bool { row.isEmpty(try column(key)) }
        func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try row.bool(try column(key)) }
        func decode(_ type: String.Type, forKey key: Key) throws -> String { row.string(try column(key)) }
        func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try row.double(try column(key)) }
        func decode(_ type: Float.Type, forKey key: Key) throws -> Float {
            let column = try column(key)
            let value = Float(try row.double(column))
            guard value.isFinite else { throw row.failure(column, expected: "a finite number that fits in Float") }
            return value
        }
        func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try row.integer(type, try column(key)) }
        func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try row.integer(type, try column(key)) }
        func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try row.integer(type, try column(key)) }
        func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try row.integer(type, try column(key)) }
        func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try row.integer(type, try column(key)) }
        func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try row.integer(type, try column(key)) }
        func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try row.integer(type, try column(key)) }
        func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try row.integer(type, try column(key)) }
        func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try row.integer(type, try column(key)) }
        func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try row.integer(type, try column(key)) }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            let column = try column(key)
            // `unsafeBitCast` after an equality test of metatypes: the value has type T.
            if T.self == Timestamp.self { return unsafeBitCast(try row.timestamp(column), to: T.self) }
            return try T(from: FieldDecoder(row: row, column: column, codingPath: [key]))
        }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
            -> KeyedDecodingContainer<NestedKey>
        {
            throw DecodingError.typeMismatch(
                type,
                .init(codingPath: [key], debugDescription: "a CSV field holds no nested values")
            )
        }

        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            throw DecodingError.typeMismatch(
                [Any].self,
                .init(codingPath: [key], debugDescription: "a CSV field holds no list")
            )
        }

        func superDecoder() throws -> any Decoder { CSVRowDecoder(row: row) }
        func superDecoder(forKey key: Key) throws -> any Decoder { CSVRowDecoder(row: row) }
    }

    /// Decodes one field as a single value, for types that decode themselves from one (enums with
    /// raw values, wrappers, ``Timestamp`` inside another type).
    final class FieldDecoder: Decoder, SingleValueDecodingContainer {
        let row: CSVRow
        let column: Int
        let codingPath: [any CodingKey]
        var userInfo: [CodingUserInfoKey: Any] { [:] }

        init(row: CSVRow, column: Int, codingPath: [any CodingKey]) {
            self.row = row
            self.column = column
            self.codingPath = codingPath
        }

        func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
            throw mismatch(type)
        }
        func unkeyedContainer() throws -> any UnkeyedDecodingContainer { throw mismatch([Any].self) }
        func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

        func mismatch(_ type: Any.Type) -> DecodingError {
            .typeMismatch(type, .init(codingPath: codingPath, debugDescription: "found '\(row.string(column))'"))
        }

        func decodeNil() -> Bool { row.isEmpty(column) }
        func decode(_ type: Bool.Type) throws -> Bool { try row.bool(column) }
        func decode(_ type: String.Type) throws -> String { row.string(column) }
        func decode(_ type: Double.Type) throws -> Double { try row.double(column) }
        func decode(_ type: Float.Type) throws -> Float {
            let value = Float(try row.double(column))
            guard value.isFinite else { throw row.failure(column, expected: "a finite number that fits in Float") }
            return value
        }
        func decode(_ type: Int.Type) throws -> Int { try row.integer(type, column) }
        func decode(_ type: Int8.Type) throws -> Int8 { try row.integer(type, column) }
        func decode(_ type: Int16.Type) throws -> Int16 { try row.integer(type, column) }
        func decode(_ type: Int32.Type) throws -> Int32 { try row.integer(type, column) }
        func decode(_ type: Int64.Type) throws -> Int64 { try row.integer(type, column) }
        func decode(_ type: UInt.Type) throws -> UInt { try row.integer(type, column) }
        func decode(_ type: UInt8.Type) throws -> UInt8 { try row.integer(type, column) }
        func decode(_ type: UInt16.Type) throws -> UInt16 { try row.integer(type, column) }
        func decode(_ type: UInt32.Type) throws -> UInt32 { try row.integer(type, column) }
        func decode(_ type: UInt64.Type) throws -> UInt64 { try row.integer(type, column) }
        func decode<T: Decodable>(_ type: T.Type) throws -> T {
            if T.self == Timestamp.self { return unsafeBitCast(try row.timestamp(column), to: T.self) }
            return try T(from: self)
        }
    }
}

import Foundation
import Synchronization

/// Decodes JSON records (a line of a JSON Lines file, an MQTT payload, a Kafka value) into one
/// `Decodable` type: with ``FlatJSONDecoder``, and with Foundation's `JSONDecoder` once the type
/// turns out to read nested objects or arrays, which the flat decoder does not decode.
///
/// Both decoders are equally strict about the JSON itself (UTF-8, the number grammar, finite
/// numbers), so a record is accepted or rejected the same way whichever decodes it. Records that
/// are arrays go to `JSONDecoder`. ``JSONLinesSource`` and `decoding(_:)` on sources of
/// ``RawRecord`` use it; connectors that decode in place (Kafka) call it on their buffers.
public final class JSONRecordDecoder<Element: Decodable>: Sendable {
    private let flat = FlatJSONDecoder()
    private let nestedDecoder = JSONDecoder()
    /// Set once a record needed `JSONDecoder`: the type has nested values, and every later record
    /// goes straight to it.
    private let nested = Atomic(false)

    /// Creates a decoder for `Element`.
    public init() {}

    /// Decodes one record.
    /// - Throws: `DecodingError`, as `JSONDecoder` throws it.
    public func decode(_ bytes: UnsafeRawBufferPointer) throws -> Element {
        if !nested.load(ordering: .relaxed) && bytes.first(where: { $0 != 0x20 && $0 != 0x09 }) != UInt8(ascii: "[") {
            do {
                return try flat.decode(Element.self, from: bytes)
            } catch let error as DecodingError where FlatJSONDecoder.isNestedValueError(error) {
                nested.store(true, ordering: .relaxed)
            }
        }
        return try nestedDecoder.decode(Element.self, from: Data(bytes))
    }
}

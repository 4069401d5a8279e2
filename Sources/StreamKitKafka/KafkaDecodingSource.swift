import StreamKit

extension KafkaSource {
    /// A source of the record values, JSON, decoded into `T` in place from librdkafka's buffers, by
    /// StreamKit's decoders: ``StreamKit/FlatJSONDecoder``, and `JSONDecoder` once `T` turns out to
    /// read nested objects or arrays (see ``StreamKit/JSONRecordDecoder``). A value that does not
    /// decode goes to the error output with `topic/partition@offset`, the reason and the bytes.
    public func decoding<T: Decodable & Sendable>(_ type: T.Type) -> KafkaDecodingSource<T> {
        let decoder = JSONRecordDecoder<T>()
        return KafkaDecodingSource(source: self) { value in try decoder.decode(value) }
    }

    /// A source of the record values decoded into `T` with StreamKit's ``StreamKit/FlatJSONDecoder``,
    /// straight from librdkafka's buffers: no ``KafkaRecord`` and no copy of the value is made for a
    /// value that decodes. A value that does not decode goes to the error output with
    /// `topic/partition@offset`, the reason and the bytes.
    ///
    /// ```swift
    /// let readings = pipeline.source(
    ///     KafkaSource(kafka, topics: ["sensors"], groupID: "iot").decoding(Reading.self, decoder: FlatJSONDecoder()))
    /// ```
    ///
    /// Values with nested objects or arrays in the fields that `T` decodes need `JSONDecoder`: use
    /// ``decoding(_:)``, which falls back to it.
    @inlinable
    public func decoding<T: Decodable & Sendable>(
        _ type: T.Type,
        decoder: FlatJSONDecoder
    ) -> KafkaDecodingSource<T> {
        // Inlinable: the decoding closure is specialised for `T` in the caller's module.
        KafkaDecodingSource(source: self) { value in try decoder.decode(T.self, from: value) }
    }
}

/// A ``KafkaSource`` whose record values are decoded in place, from librdkafka's buffer, before the
/// record is released: the fast path for a flat payload per record (made by
/// ``KafkaSource/decoding(_:decoder:)`` with a ``StreamKit/FlatJSONDecoder``, or with any closure
/// over the value's bytes).
///
/// A value for which `decode` throws goes to the stream's error output with the reason, a copy of
/// the bytes and `topic/partition@offset`.
public struct KafkaDecodingSource<Element: Sendable>: Source {
    /// The consumer.
    public let source: KafkaSource
    /// Turns one record's value into an element, or throws the reason it cannot.
    ///
    /// - Important: The bytes are librdkafka's and valid only during the call.
    public let decode: @Sendable (UnsafeRawBufferPointer) throws -> Element

    /// Creates a decoding source.
    public init(source: KafkaSource, decode: @escaping @Sendable (UnsafeRawBufferPointer) throws -> Element) {
        self.source = source
        self.decode = decode
    }

    /// Connects, checks the topics and subscribes, as ``KafkaSource/makeReader(context:)`` does.
    public func makeReader(context: SourceContext) async throws -> KafkaReader<Element> {
        let decode = decode
        let origin = context.name
        return KafkaReader(consumer: try await source.makeConsumer(context: context)) { message, elements, errors in
            do {
                elements.append(try decode(message.value))
            } catch {
                errors.append(
                    ErrorRecord(
                        origin: origin,
                        reason: ErrorRecord.reason(for: error),
                        raw: Array(message.value),
                        location: message.location
                    )
                )
            }
        }
    }
}

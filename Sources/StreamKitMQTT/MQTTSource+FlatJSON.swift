import StreamKit

extension MQTTSource {
    /// A source of the payloads decoded into `T` with StreamKit's ``FlatJSONDecoder``, the fast
    /// path for small flat JSON objects (an order of magnitude faster than `JSONDecoder` on
    /// typical IoT readings), without the fallback of `decoding(_:)`; a payload that does not decode goes to the error output with the
    /// topic, the reason and the raw bytes.
    ///
    /// ```swift
    /// let readings = pipeline.source(
    ///     MQTTSource(mqtt, topics: ["sensors"]).decoding(Reading.self, decoder: FlatJSONDecoder()))
    /// ```
    ///
    /// Payloads with nested objects or arrays in the fields that `T` decodes need `JSONDecoder`:
    /// use `decoding(_:)`, which decodes with this decoder and falls back to `JSONDecoder` once a
    /// payload needs it, or pass a `JSONDecoder` as `decoder`.
    /// - Parameters:
    ///   - type: The type of the payloads.
    ///   - decoder: The decoder.
    /// - Returns: A source of decoded payloads.
    public func decoding<T: Decodable & Sendable>(
        _ type: T.Type,
        decoder: FlatJSONDecoder
    ) -> MQTTDecodingSource<T> {
        MQTTDecodingSource(source: self) { message in try decoder.decode(T.self, from: message.payload) }
    }
}

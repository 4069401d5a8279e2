import Foundation

/// A source whose raw records (MQTT messages, Kafka records) are decoded into `Element` as they are
/// read; a record that does not decode goes to the stream's error output with the reason, the raw
/// bytes and where it came from, and the pipeline goes on.
///
/// Made by `decoding(_:decoder:)` or `decoding(with:)` on any source of ``RawRecord`` elements:
///
/// ```swift
/// let readings = pipeline.source(MQTTSource(mqtt, topics: ["sensors"]).decoding(Reading.self))
/// readings.errors.sink(PrintSink(prefix: "rejected: "))
/// ```
public struct DecodingSource<Base: Source, Element: Sendable>: Source where Base.Element: RawRecord {
    /// The source of the raw records.
    public let source: Base
    /// Turns one record into an element, or throws the reason it cannot.
    public let decode: @Sendable (Base.Element) throws -> Element

    /// Creates a decoding source.
    public init(source: Base, decode: @escaping @Sendable (Base.Element) throws -> Element) {
        self.source = source
        self.decode = decode
    }

    /// Opens the underlying source.
    public func makeReader(context: SourceContext) async throws -> Reader {
        Reader(base: try await source.makeReader(context: context), decode: decode, origin: context.name)
    }

    /// Decodes what the underlying reader returns.
    public struct Reader: SourceReader {
        var base: Base.Reader
        let decode: @Sendable (Base.Element) throws -> Element
        let origin: String

        /// Reads records and decodes them; failures become error records.
        public mutating func read(maximumCount: Int) async throws -> SourceRead<Element> {
            switch try await base.read(maximumCount: maximumCount) {
            case .chunk(let chunk):
                var elements: [Element] = []
                elements.reserveCapacity(chunk.elements.count)
                var errors = chunk.errors
                for record in chunk.elements {
                    do {
                        elements.append(try decode(record))
                    } catch {
                        errors.append(
                            ErrorRecord(
                                origin: origin,
                                reason: DecodingSource.reason(error),
                                raw: record.rawBytes,
                                location: record.rawLocation,
                                line: record.rawLine,
                                time: record.rawTime ?? .now
                            )
                        )
                    }
                }
                return .chunk(SourceChunk(elements: elements, errors: errors))
            case .tick(let now): return .tick(now)
            case .end: return .end
            }
        }

        /// The underlying reader's position.
        public var position: SourcePosition? { base.position }

        /// Moves the underlying reader.
        public mutating func seek(to position: SourcePosition) async throws {
            try await base.seek(to: position)
        }

        /// Closes the underlying reader.
        public mutating func close() async {
            await base.close()
        }

        /// Asks the underlying reader.
        public mutating func stopReceiving() async -> Bool {
            await base.stopReceiving()
        }

        /// Tells the underlying reader.
        public mutating func checkpointCompleted(_ id: Int64, position: SourcePosition?) async throws {
            try await base.checkpointCompleted(id, position: position)
        }
    }

    /// A short reason for a decoding error: what was wrong and where in the record, as the error
    /// records of decoding sources say it (also for connectors that decode in place, such as
    /// `KafkaDecodingSource`).
    public static func reason(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return String(describing: error) }
        func path(_ context: DecodingError.Context) -> String {
            let path = context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
            return path.isEmpty ? "" : " at '\(path)'"
        }
        switch error {
        case .keyNotFound(let key, let context): return "missing key '\(key.stringValue)'\(path(context))"
        case .typeMismatch(let type, let context):
            return "expected \(type)\(path(context)): \(context.debugDescription)"
        case .valueNotFound(let type, let context): return "null where \(type) was expected\(path(context))"
        case .dataCorrupted(let context): return "invalid record\(path(context)): \(context.debugDescription)"
        @unknown default: return String(describing: error)
        }
    }
}

extension Source where Element: RawRecord {
    /// A source of the records' raw bytes decoded into `T` with `decoder`; a record that does not
    /// decode goes to the error output with the reason, the raw bytes and where it came from.
    public func decoding<T: Decodable & Sendable>(
        _ type: T.Type,
        decoder: JSONDecoder = JSONDecoder()
    ) -> DecodingSource<Self, T> {
        DecodingSource(source: self) { record in try decoder.decode(T.self, from: Data(record.rawBytes)) }
    }

    /// A source of the records transformed by `decode`; a record for which it throws goes to the
    /// error output with the error's description, the raw bytes and where it came from.
    public func decoding<T: Sendable>(with decode: @escaping @Sendable (Element) throws -> T) -> DecodingSource<Self, T>
    {
        DecodingSource(source: self, decode: decode)
    }
}

/// A sink that prints each element on its own line, for examples and debugging.
public struct PrintSink<Element: Sendable>: Sink {
    /// Text put before each line.
    public let prefix: String
    /// How an element becomes text.
    public let format: @Sendable (Element) -> String

    /// Creates a sink that prints `prefix` and the element's description.
    public init(prefix: String = "", format: @escaping @Sendable (Element) -> String = { "\($0)" }) {
        self.prefix = prefix
        self.format = format
    }

    /// Returns a writer that prints to standard output.
    public func makeWriter(context: SinkContext) async throws -> Writer { Writer(sink: self) }

    /// Prints batches.
    public final class Writer: SinkWriter {
        let sink: PrintSink
        init(sink: PrintSink) { self.sink = sink }

        /// Prints each element of the batch.
        public func write(_ batch: Batch<Element>) async throws {
            var text = ""
            for element in batch.elements {
                text += sink.prefix + sink.format(element) + "\n"
            }
            print(text, terminator: "")
        }

        /// Nothing to flush: `print` writes through.
        public func finish() async throws {}
    }
}

/// A sink that calls a closure for each element.
public struct ForEachSink<Element: Sendable>: Sink {
    /// The closure.
    public let body: @Sendable (Element) async throws -> Void

    /// Creates a sink that calls `body` for each element, in order.
    public init(_ body: @escaping @Sendable (Element) async throws -> Void) {
        self.body = body
    }

    /// Returns a writer that calls the closure.
    public func makeWriter(context: SinkContext) async throws -> Writer { Writer(body: body) }

    /// Calls the closure for each element.
    public final class Writer: SinkWriter {
        let body: @Sendable (Element) async throws -> Void
        init(body: @escaping @Sendable (Element) async throws -> Void) { self.body = body }

        /// Calls the closure for each element of the batch.
        public func write(_ batch: Batch<Element>) async throws {
            for element in batch.elements { try await body(element) }
        }

        /// Nothing to flush.
        public func finish() async throws {}
    }
}

import Foundation

/// A sink that prints each element on its own line, for examples and debugging.
///
/// Standard output is buffered when it is not a terminal (a pipe, a file); the sink flushes it
/// when a checkpoint's barrier reaches it (before the checkpoint can complete), when the input
/// ends and when the pipeline is done with it, so that a crash after a completed checkpoint loses
/// none of the lines printed before it.
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

        /// Flushes standard output: the lines before the barrier are out before the checkpoint
        /// completes.
        public func prepareCheckpoint(_ id: Int64) async throws -> [UInt8]? {
            try flush()
            return nil
        }

        /// Flushes standard output.
        public func finish() async throws { try flush() }

        deinit { fflush(nil) }

        private func flush() throws {
            // `nil`: every C output stream, standard output among them.
            guard fflush(nil) == 0 else {
                throw StreamKitError(
                    code: .sinkFailed,
                    message: "cannot write to standard output (\(String(cString: strerror(errno)))): "
                        + "check where the program's output goes (a closed pipe, a full disk)"
                )
            }
        }
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

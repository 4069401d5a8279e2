/// The error StreamKit throws: a ``Code`` to match on, and a message that says what to change.
///
/// Codes are static members over a hidden enum, so new codes can be added without breaking code
/// that switches over them (the model is swift-nio's `FileSystemError`).
///
/// ```swift
/// do { try await pipeline.run() }
/// catch let error as StreamKitError where error.code == .invalidConfiguration { print(error) }
/// ```
public struct StreamKitError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        enum Value: Hashable, Sendable {
            case invalidConfiguration
            case invalidGraph
            case invalidTimestamp
            case io
            case decoding
            case sinkFailed
            case sourceFailed
            case connectionFailed
            case checkpoint
        }
        let value: Value

        /// A setting has a value that cannot work, such as a zero window size.
        public static let invalidConfiguration = Code(value: .invalidConfiguration)
        /// The pipeline's graph is incomplete or wired wrongly, such as a stream without a sink.
        public static let invalidGraph = Code(value: .invalidGraph)
        /// Text could not be read as a timestamp.
        public static let invalidTimestamp = Code(value: .invalidTimestamp)
        /// A file or directory could not be read or written.
        public static let io = Code(value: .io)
        /// A record could not be decoded into its type.
        public static let decoding = Code(value: .decoding)
        /// A sink failed to write.
        public static let sinkFailed = Code(value: .sinkFailed)
        /// A source failed to read.
        public static let sourceFailed = Code(value: .sourceFailed)
        /// A connector could not reach its broker.
        public static let connectionFailed = Code(value: .connectionFailed)
        /// A checkpoint could not be written or restored.
        public static let checkpoint = Code(value: .checkpoint)

        /// The code's name.
        public var description: String { String(describing: value) }
    }

    /// What kind of failure this is.
    public var code: Code
    /// What went wrong and what to change.
    public var message: String
    /// The error that caused this one, if any.
    public var underlying: (any Error)?
    /// Where in StreamKit the error was raised.
    public var file: String
    /// The line in ``file``.
    public var line: Int

    /// Creates an error.
    /// - Parameters:
    ///   - code: What kind of failure this is.
    ///   - message: What went wrong and what to change.
    ///   - underlying: The error that caused this one.
    ///   - file: Where the error is raised (default: the caller's file).
    ///   - line: The line in `file` (default: the caller's line).
    public init(
        code: Code,
        message: String,
        underlying: (any Error)? = nil,
        file: String = #fileID,
        line: Int = #line
    ) {
        self.code = code
        self.message = message
        self.underlying = underlying
        self.file = file
        self.line = line
    }

    /// The code, the message and the underlying error.
    public var description: String {
        var text = "StreamKitError.\(code): \(message)"
        if let underlying { text += " (underlying error: \(underlying))" }
        return text
    }
}

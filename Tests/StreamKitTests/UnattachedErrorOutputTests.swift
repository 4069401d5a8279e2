import Foundation
import Logging
import StreamKit
import Synchronization
import Testing

/// Rejected records with no error sink attached are counted and logged, a few lines at most.
@Suite struct UnattachedErrorOutputTests {
    /// The messages logged so far.
    final class Messages: Sendable {
        let list = Mutex<[String]>([])
    }

    /// A log handler that keeps the messages it is given.
    struct CollectingLogHandler: LogHandler {
        let messages: Messages
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            messages.list.withLock { $0.append("\(event.message)") }
        }
    }

    @Test func badRecordsWithoutAnErrorSinkLogTheFirstTenThenEveryThousandth() async throws {
        let directory = TemporaryDirectory()
        let file = directory.write("bad.csv", "value\n" + String(repeating: "oops\n", count: 2_500))
        struct Value: Decodable, Sendable { var value: Double }
        let messages = Messages()
        let logger = Logger(label: "test") { _ in CollectingLogHandler(messages: messages) }
        let pipeline = Pipeline(
            "unattached",
            configuration: PipelineConfiguration(batchSize: 1_000, logger: logger)
        )
        let values = CollectingSink<Value>()
        pipeline.source(CSVSource<Value>(path: file)).sink(values)
        try await pipeline.run()
        let rejected = messages.list.withLock { $0 }.filter { $0.hasPrefix("rejected record") }
        // Records 1-10, 1000 and 2000: not every record of a batch that ends on a multiple of 1000.
        #expect(rejected.count == 12)
        #expect(values.elements.isEmpty)
    }
}

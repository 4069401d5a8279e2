import Foundation
import StreamKit
import Synchronization
import Testing

/// Rejected records with no error sink attached are counted and logged, a few lines at most.
@Suite struct UnattachedErrorOutputTests {
    @Test func badRecordsWithoutAnErrorSinkLogTheFirstTenThenEveryThousandth() async throws {
        let directory = TemporaryDirectory()
        let file = directory.write("bad.csv", "value\n" + String(repeating: "oops\n", count: 2_500))
        struct Value: Decodable, Sendable { var value: Double }
        let log = LogCollector()
        let logger = log.makeLogger()
        let pipeline = Pipeline(
            "unattached",
            configuration: PipelineConfiguration(batchSize: 1_000, logger: logger)
        )
        let values = CollectingSink<Value>()
        pipeline.source(CSVSource<Value>(path: file)).sink(values)
        try await pipeline.run()
        let rejected = log.messages.withLock { $0 }.filter { $0.hasPrefix("rejected record") }
        // Records 1-10, 1000 and 2000: not every record of a batch that ends on a multiple of 1000.
        #expect(rejected.count == 12)
        #expect(values.elements.isEmpty)
    }
}

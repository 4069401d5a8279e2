import Foundation
import StreamKit
import Synchronization

/// A sink that keeps the latest row of each period (a correction re-emits a period) and writes
/// the table as CSV and JSON after every batch, in period order.
public final class PeriodTable: Sink, Sendable {
    /// Where the table goes, without extension: `out/days` gives `out/days.csv` and `out/days.json`.
    public let path: String?
    private let rows = Mutex<[String: PeriodRow]>([:])

    /// Creates a table, written to `path` when given.
    public init(path: String?) {
        self.path = path
    }

    /// The rows, in period order.
    public var sorted: [PeriodRow] { rows.withLock { $0.values.sorted { $0.start < $1.start } } }

    /// Returns the writer.
    public func makeWriter(context: SinkContext) async throws -> Writer { Writer(table: self) }

    /// Keeps rows and rewrites the files.
    public final class Writer: SinkWriter {
        let table: PeriodTable
        init(table: PeriodTable) { self.table = table }

        /// Keeps the batch's rows, replacing earlier rows of the same periods.
        public func write(_ batch: Batch<PeriodRow>) async throws {
            table.rows.withLock { rows in
                for row in batch.elements { rows[row.period] = row }
            }
            try table.save()
        }

        /// Writes the final files.
        public func finish() async throws { try table.save() }
    }

    func save() throws {
        guard let path else { return }
        let rows = sorted
        let csv = ([PeriodRow.csvHeader] + rows.map(\.csvLine)).joined(separator: "\n") + "\n"
        try csv.write(toFile: path + ".csv", atomically: true, encoding: .utf8)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(rows).write(to: URL(fileURLWithPath: path + ".json"), options: .atomic)
    }
}

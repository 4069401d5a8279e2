import Foundation
import StreamKit
import Synchronization

/// The table of the periods (days, weeks, months).
public typealias PeriodTable = RowTable<PeriodRow>

/// The table of the spikes.
public typealias SpikeTable = RowTable<SpikeRow>

/// A sink that keeps the latest row of each key (a correction re-emits a period or re-judges an
/// hour) and writes the table as CSV and JSON after every batch, in the rows' order.
public final class RowTable<Row: TableRow>: Sink, Sendable {
    /// Where the table goes, without extension: `out/days` gives `out/days.csv` and `out/days.json`.
    public let path: String?
    private let rows = Mutex<[String: Row]>([:])

    /// Creates a table, written to `path` when given.
    public init(path: String?) {
        self.path = path
    }

    /// The rows, in the table's order.
    public var sorted: [Row] { rows.withLock { $0.values.sorted(by: Row.ordered) } }

    /// Returns the writer.
    public func makeWriter(context: SinkContext) async throws -> Writer { Writer(table: self) }

    /// Keeps rows and rewrites the files.
    public final class Writer: SinkWriter {
        let table: RowTable
        init(table: RowTable) { self.table = table }

        /// Keeps the batch's rows, replacing (or removing) earlier rows of the same keys.
        public func write(_ batch: Batch<Row>) async throws {
            table.rows.withLock { rows in
                for row in batch.elements { rows[row.tableKey] = row.isKept ? row : nil }
            }
            try table.save()
        }

        /// Writes the final files.
        public func finish() async throws { try table.save() }
    }

    func save() throws {
        guard let path else { return }
        try writeTable(sorted, to: path)
    }
}

import Foundation
import StreamKit
import Synchronization

/// The table of the periods (days, weeks, months).
public typealias PeriodTable = RowTable<PeriodRow>

/// The table of the spikes.
public typealias SpikeTable = RowTable<SpikeRow>

/// A sink that keeps the latest row of each key (a correction re-emits a period or re-judges an
/// hour) and writes the table as CSV and JSON, in the rows' order: after every batch that changed
/// it in a live run, so that the files follow the stream. A batch run attaches ``keepingSink``,
/// which writes nothing, and saves each table once at the end (``ElectricityRunner/Tables/writeSummaries()``),
/// however many batches filled it.
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

    /// Returns the writer, which saves the files after every batch.
    public func makeWriter(context: SinkContext) async throws -> Writer { Writer(table: self, savesEachBatch: true) }

    /// The table as a sink that keeps rows and writes no file: for batch runs, which save once at
    /// the end.
    public var keepingSink: KeepingSink { KeepingSink(table: self) }

    /// A sink into the table that keeps rows and writes no file.
    public struct KeepingSink: Sink {
        let table: RowTable

        /// Returns the writer.
        public func makeWriter(context: SinkContext) async throws -> Writer {
            Writer(table: table, savesEachBatch: false)
        }
    }

    /// Keeps rows and rewrites the files.
    public final class Writer: SinkWriter {
        let table: RowTable
        let savesEachBatch: Bool
        init(table: RowTable, savesEachBatch: Bool) {
            self.table = table
            self.savesEachBatch = savesEachBatch
        }

        /// Keeps the batch's rows, replacing (or removing) earlier rows of the same keys.
        public func write(_ batch: Batch<Row>) async throws {
            table.rows.withLock { rows in
                for row in batch.elements { rows[row.tableKey] = row.isKept ? row : nil }
            }
            if savesEachBatch && !batch.elements.isEmpty { try table.save() }
        }

        /// Writes the final files, unless the run saves the table itself.
        public func finish() async throws {
            if savesEachBatch { try table.save() }
        }
    }

    func save() throws {
        guard let path else { return }
        try writeTable(sorted, to: path)
    }
}

import Foundation
import StreamKit

/// Mike's pipeline as one StreamKit graph, the same in batch (a CSV file) and in real time (lines
/// from MQTT):
///
/// ```
/// lines ─▶ parse ─┬▶ event time (2 h bound: the autumn rows are an hour out of order)
///                 │     ├▶ local days, ISO weeks, months in Europe/Zurich ─▶ totals per flow,
///                 │     │  imports, exports, net import, hours present and missing, corrections
///                 │     │  └▶ hours later than the allowed lateness ─▶ late
///                 │     └▶ spike detector (keyed state: two weeks of hours) ─▶ spikes
///                 └▶ rejected lines (file, line number, reason, text)
/// ```
///
/// Each window fires when the watermark passes its end (local midnight for a day). Corrections
/// that repeat an hour later in the input replace the earlier row; when one arrives after its
/// period fired (within the allowed lateness), the period is emitted again with the corrected
/// totals, so a table keyed by period holds the right numbers.
public enum ElectricityGraph {
    /// Swiss local time: the calendar of the days, weeks and months.
    public static let timeZone = TimeZone(identifier: "Europe/Zurich")!
    /// The ISO 8601 calendar in Swiss local time.
    public static let calendar: Calendar = {
        var calendar = Calendar(identifier: .iso8601)
        calendar.timeZone = timeZone
        return calendar
    }()

    /// The outputs of the graph.
    public struct Outputs {
        /// Totals per local day, emitted when the watermark passes local midnight.
        public var days: DataStream<PeriodRow>
        /// Totals per ISO week.
        public var weeks: DataStream<PeriodRow>
        /// Totals per month.
        public var months: DataStream<PeriodRow>
        /// Hours far above the rolling baseline of their column (see ``SpikeRule``), and rows
        /// that clear such an hour after a correction.
        public var spikes: DataStream<SpikeRow>
        /// Lines that could not be read.
        public var rejected: DataStream<ErrorRecord>
        /// Hours that came after their day, week or month was closed for good: in none of that
        /// table's totals.
        public var late: DataStream<LateRow>
    }

    /// Wires the graph onto a stream of the file's lines (without the header).
    /// - Parameters:
    ///   - lines: The lines.
    ///   - allowedLateness: How long after a period fired a correction still updates it.
    ///   - spikeRule: When an hour counts as a spike.
    public static func build(
        lines: DataStream<FlowLine>,
        allowedLateness: Duration = .hours(24 * 35),
        spikeRule: SpikeRule = SpikeRule()
    ) -> Outputs {
        let rows = lines.tryMap(name: "parse") { try FlowRow.parse($0.text) }
        let keyed =
            rows
            .eventTime({ $0.time }, watermark: .boundedOutOfOrderness(.hours(2)), name: "event-time")
            .key(by: { _ in "CH" })
        var late: [DataStream<LateRow>] = []
        func totals(_ spec: WindowSpec, _ unit: Calendar.Component, _ name: String) -> DataStream<PeriodRow> {
            let windows = keyed.window(spec, allowedLateness: allowedLateness, name: name)
            late.append(windows.late.map(name: "\(name)-late") { LateRow(table: name, row: $0) })
            return windows.aggregate(FlowTotals())
                .map { PeriodRow(window: $0.window, totals: $0.value, unit: unit) }
        }
        let days = totals(.days(in: timeZone), .day, "days")
        let weeks = totals(.weeks(in: timeZone), .weekOfYear, "weeks")
        let months = totals(.months(in: timeZone), .month, "months")
        return Outputs(
            days: days,
            weeks: weeks,
            months: months,
            spikes: keyed.process(SpikeDetector(rule: spikeRule), name: "spikes"),
            rejected: rows.errors,
            late: lines.pipeline.merge(late, name: "late-hours")
        )
    }

    /// Wires the graph onto a stream of lines without a known place (from MQTT or Kafka).
    public static func build(
        lines: DataStream<String>,
        allowedLateness: Duration = .hours(24 * 35),
        spikeRule: SpikeRule = SpikeRule()
    ) -> Outputs {
        build(
            lines: lines.map(name: "line") { FlowLine($0) },
            allowedLateness: allowedLateness,
            spikeRule: spikeRule
        )
    }
}

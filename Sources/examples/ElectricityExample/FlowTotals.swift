import StreamKit

/// The totals of a period (a local day, an ISO week, a month): each hour counted once — a row that
/// repeats an hour replaces the earlier one, since the file's corrections come later — and the
/// number of hours present.
public struct FlowTotals: Aggregation {
    /// The element type aggregated.
    public typealias Input = FlowRow

    /// The hours of the period so far, by their start (µs since the epoch).
    public struct Accumulator: Codable, Sendable {
        var hours: [Int64: [Double]]
        var replaced: Int
    }

    /// Creates the aggregation.
    public init() {}

    /// The state after the first row.
    public func accumulator(for first: FlowRow) -> Accumulator {
        Accumulator(hours: [first.time.microseconds: first.flows], replaced: 0)
    }

    /// Adds a row; a repeated hour replaces the earlier row.
    public func add(_ input: FlowRow, to accumulator: inout Accumulator) {
        if accumulator.hours.updateValue(input.flows, forKey: input.time.microseconds) != nil {
            accumulator.replaced += 1
        }
    }

    /// Adds the rows of another accumulator, which came later.
    public func merge(_ other: Accumulator, into accumulator: inout Accumulator) {
        for (hour, flows) in other.hours where accumulator.hours.updateValue(flows, forKey: hour) != nil {
            accumulator.replaced += 1
        }
        accumulator.replaced += other.replaced
    }

    /// The sums per flow, the hours present and the rows replaced.
    public func output(of accumulator: Accumulator) -> Output {
        // Summed in time order: a dictionary's order changes from run to run, and floating-point
        // sums in another order differ in their last digits.
        var flows = [Double](repeating: 0, count: 8)
        for hour in accumulator.hours.keys.sorted() {
            let values = accumulator.hours[hour]!
            for index in 0..<8 { flows[index] += values[index] }
        }
        return Output(flows: flows, hours: accumulator.hours.count, replaced: accumulator.replaced)
    }

    /// The totals of a period.
    public struct Output: Sendable, Hashable {
        /// MWh per flow, indexed by ``Flow/rawValue``.
        public var flows: [Double]
        /// Hours present.
        public var hours: Int
        /// Rows that replaced an earlier row of the same hour.
        public var replaced: Int
    }
}

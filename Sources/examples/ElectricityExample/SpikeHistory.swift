/// The keyed state of ``SpikeDetector``: the rows waiting for the watermark, and the judged hours
/// of the last ``SpikeRule/lookbackHours`` + ``SpikeRule/correctionHorizonHours``, column by
/// column, with the columns each hour was flagged in.
///
/// A class, so that the keyed process operator's copy of the state per element shares it instead
/// of copying its arrays (with a struct, every row would copy two weeks of values). It is
/// `Codable`, so checkpoints store it like any keyed state.
///
/// `@unchecked Sendable` is safe: the keyed process operator that owns the key touches the state
/// from one task at a time, element by element, and snapshots it between elements.
public final class SpikeHistory: Codable, @unchecked Sendable {
    /// The hours (µs since the epoch) of the rows the watermark has not passed yet, ascending (a
    /// few: the watermark trails the newest row by two hours).
    var pendingTimes: [Int64] = []
    /// The flows of the pending rows, aligned with `pendingTimes`; a later row of the same hour
    /// replaces the earlier one.
    var pendingFlows: [[Double]] = []
    /// The judged hours (µs since the epoch), ascending; those before `head` are dropped.
    var times: [Int64] = []
    /// The values of the judged hours, hour by hour: column `c` of the hour at index `i` is at
    /// `i * columns + c`.
    var values: [Double] = []
    /// Per judged hour, bit `c` set when column `c` is flagged.
    var flags: [UInt8] = []
    /// The first live index of `times`, `values` and `flags`.
    var head = 0
    /// Whether the detector has set its end-of-input timer for this key.
    var flushTimerSet = false
    /// Per column, the largest value of the baseline window of the next hour in time order, and
    /// the hour it is from (the latest of equal ones), while `maximaValid`: kept as hours are
    /// judged in order, so that the baseline is not searched for every hour. Not stored: rebuilt
    /// after a restore, and after a correction or a late row.
    var maxima = [Double](repeating: 0, count: Flow.allCases.count)
    /// The hours of `maxima` (µs since the epoch).
    var maximaTimes = [Int64](repeating: .min, count: Flow.allCases.count)
    /// Whether `maxima` and `maximaTimes` hold.
    var maximaValid = false

    /// The number of flow columns.
    static let columns = Flow.allCases.count

    /// An empty history.
    init() {}

    /// Keeps a row until the watermark passes its hour; a later row of the same hour replaces it.
    func addPending(_ time: Int64, _ flows: [Double]) {
        var index = pendingTimes.count
        while index > 0 && pendingTimes[index - 1] > time { index -= 1 }
        if index > 0 && pendingTimes[index - 1] == time {
            pendingFlows[index - 1] = flows
        } else {
            pendingTimes.insert(time, at: index)
            pendingFlows.insert(flows, at: index)
        }
    }

    /// The value of `column` in the judged hour at `index`.
    func value(at index: Int, column: Int) -> Double { values[index * Self.columns + column] }

    /// The last judged hour, if any.
    var newest: Int64? { times.count > head ? times[times.count - 1] : nil }

    /// The index of the judged hour `time`, or where it would go.
    func index(of time: Int64) -> (index: Int, found: Bool) {
        var low = head
        var high = times.count
        while low < high {
            let middle = (low + high) / 2
            if times[middle] < time { low = middle + 1 } else { high = middle }
        }
        return (low, low < times.count && times[low] == time)
    }

    /// Inserts a judged hour at `index` (not yet flagged).
    func insert(_ time: Int64, _ flows: [Double], at index: Int) {
        if index == times.count {
            times.append(time)
            values.append(contentsOf: flows)
            flags.append(0)
        } else {
            times.insert(time, at: index)
            values.insert(contentsOf: flows, at: index * Self.columns)
            flags.insert(0, at: index)
        }
    }

    /// Replaces the values of the judged hour at `index`.
    func replace(at index: Int, with flows: [Double]) {
        values.replaceSubrange((index * Self.columns)..<((index + 1) * Self.columns), with: flows)
    }

    /// The baseline of the hour at `index` in `column`: the largest value over the preceding
    /// `lookback` µs, and how many hours it was taken over.
    func baseline(at index: Int, column: Int, lookback: Int64) -> (value: Double, hours: Int) {
        let from = self.index(of: times[index] - lookback).index
        return (largest(in: column, from: from, to: index).value, index - from)
    }

    /// The largest value of `column` in the hours `from..<to`, and the latest hour it is at
    /// (`Int64.min` when there are none).
    func largest(in column: Int, from: Int, to: Int) -> (value: Double, time: Int64) {
        var largest = 0.0
        var position = -1
        values.withUnsafeBufferPointer { buffer in
            for candidate in from..<to where buffer[candidate * Self.columns + column] >= largest {
                largest = buffer[candidate * Self.columns + column]
                position = candidate
            }
        }
        return (largest, position < 0 ? .min : times[position])
    }

    /// Drops the hours before `time`, compacting the arrays now and then.
    func drop(before time: Int64) {
        while head < times.count && times[head] < time { head += 1 }
        if head >= 4096 { compact() }
    }

    /// Removes the dropped hours from the arrays.
    func compact() {
        guard head > 0 else { return }
        times.removeFirst(head)
        values.removeFirst(head * Self.columns)
        flags.removeFirst(head)
        head = 0
    }

    enum CodingKeys: String, CodingKey {
        case pendingTimes, pendingFlows, times, values, flags, flushTimerSet
    }

    /// Reads a stored history.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        pendingTimes = try container.decode([Int64].self, forKey: .pendingTimes)
        pendingFlows = try container.decode([[Double]].self, forKey: .pendingFlows)
        times = try container.decode([Int64].self, forKey: .times)
        values = try container.decode([Double].self, forKey: .values)
        flags = try container.decode([UInt8].self, forKey: .flags)
        flushTimerSet = try container.decode(Bool.self, forKey: .flushTimerSet)
    }

    /// Stores the live part of the history.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(pendingTimes, forKey: .pendingTimes)
        try container.encode(pendingFlows, forKey: .pendingFlows)
        try container.encode(Array(times[head...]), forKey: .times)
        try container.encode(Array(values[(head * Self.columns)...]), forKey: .values)
        try container.encode(Array(flags[head...]), forKey: .flags)
        try container.encode(flushTimerSet, forKey: .flushTimerSet)
    }
}

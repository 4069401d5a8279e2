import StreamKit

/// Flags hourly values far above the rolling baseline of their flow column (see ``SpikeRule``), as
/// a keyed process function whose state (``SpikeHistory``) checkpoints store.
///
/// Each hour is judged once the watermark has passed it, in time order, so the out-of-order
/// autumn rows are judged in the right order and a correction that arrives before its hour is
/// judged simply replaces the row. The hours are judged as rows arrive (each row brings the
/// watermark along), and at the end of the input by a timer at the end of time; an input that
/// stops for good (real time) leaves its last hours unjudged, like its last day. A correction (or
/// a late row) that arrives after its hour was judged, within ``SpikeRule/correctionHorizonHours``,
/// replaces the hour's values and judges again that hour and the later hours whose baseline it is
/// part of: a row is emitted for every such hour that is flagged now or was flagged before, so a
/// table keyed by column and hour ends with the verdicts of the corrected data. The verdicts
/// therefore depend on the data, not on the order in which the hours arrive, as long as the
/// corrections fall within the horizon.
///
/// Emitted rows carry the event time of their hour; the same input in the same order gives the
/// same rows in batch and in real time.
public struct SpikeDetector: KeyedProcessFunction {
    /// The key: one history for all columns of the file (`"CH"`).
    public typealias Key = String
    /// The rows of the file.
    public typealias Input = FlowRow
    /// Spikes, and rows that clear a spike after a correction.
    public typealias Output = SpikeRow
    /// The history of the judged hours.
    public typealias State = SpikeHistory

    /// The rule.
    public var rule: SpikeRule

    /// Creates a detector with `rule`.
    public init(rule: SpikeRule = SpikeRule()) {
        self.rule = rule
    }

    var lookback: Int64 { Int64(rule.lookbackHours) * 3_600_000_000 }
    var horizon: Int64 { Int64(rule.correctionHorizonHours) * 3_600_000_000 }

    /// Keeps a row until the watermark passes its hour, or, for an hour already judged, corrects
    /// it and judges again; then judges the hours the watermark has passed.
    public func process(_ row: FlowRow, context: inout KeyedProcessContext<String, SpikeHistory, SpikeRow>) {
        let history = context.state ?? SpikeHistory()
        context.state = history
        if !history.flushTimerSet {
            context.setTimer(at: .max)
            history.flushTimerSet = true
        }
        let time = row.time.microseconds
        if let newest = history.newest, time <= newest {
            correct(time, row.flows, in: history, context: &context)
        } else {
            history.addPending(time, row.flows)
        }
        judgeHours(upTo: context.watermark.microseconds, in: history, context: &context)
    }

    /// At the end of the input: judges the hours still waiting.
    public func onTimer(at time: Timestamp, context: inout KeyedProcessContext<String, SpikeHistory, SpikeRow>) {
        guard let history = context.state else { return }
        judgeHours(upTo: time.microseconds, in: history, context: &context)
    }

    /// Judges the waiting hours up to `time`, in time order, and drops the hours no correction
    /// can reach any more.
    func judgeHours(
        upTo time: Int64,
        in history: SpikeHistory,
        context: inout KeyedProcessContext<String, SpikeHistory, SpikeRow>
    ) {
        var due = 0
        while due < history.pendingTimes.count && history.pendingTimes[due] <= time { due += 1 }
        guard due > 0 else { return }
        for index in 0..<due {
            history.insert(history.pendingTimes[index], history.pendingFlows[index], at: history.times.count)
            judgeNewest(in: history, context: &context)
        }
        history.pendingTimes.removeFirst(due)
        history.pendingFlows.removeFirst(due)
        history.drop(before: history.newest! - horizon - lookback)
    }

    /// Replaces (or inserts) an hour before the newest judged one, and judges again it and the
    /// hours whose baseline it is part of. Hours older than the correction horizon are left alone.
    func correct(
        _ time: Int64,
        _ flows: [Double],
        in history: SpikeHistory,
        context: inout KeyedProcessContext<String, SpikeHistory, SpikeRow>
    ) {
        guard let newest = history.newest, time >= newest - horizon else { return }
        let (index, found) = history.index(of: time)
        if found {
            history.replace(at: index, with: flows)
        } else {
            history.insert(time, flows, at: index)
        }
        history.maximaValid = false
        var position = index
        while position < history.times.count && history.times[position] <= time + lookback {
            let before = history.flags[position]
            var after: UInt8 = 0
            for column in 0..<Flow.allCases.count {
                let value = history.value(at: position, column: column)
                let wasSpike = before & (1 << column) != 0
                guard value >= rule.minimumExcess || wasSpike else { continue }
                let baseline = history.baseline(at: position, column: column, lookback: lookback)
                let isSpike = rule.isSpike(value, baseline: baseline.value, hours: baseline.hours)
                if isSpike { after |= 1 << column }
                if isSpike || wasSpike {
                    emit(history.times[position], column, value, baseline, isSpike, &context)
                }
            }
            history.flags[position] = after
            position += 1
        }
    }

    /// Judges the newest hour, the last one of the history, in every column, with the baseline
    /// kept in `maxima`.
    func judgeNewest(in history: SpikeHistory, context: inout KeyedProcessContext<String, SpikeHistory, SpikeRow>) {
        let index = history.times.count - 1
        let time = history.times[index]
        let lower = time - lookback
        let from = history.index(of: lower).index
        let hours = index - from
        var flags: UInt8 = 0
        for column in 0..<Flow.allCases.count {
            if !history.maximaValid || history.maximaTimes[column] < lower {
                (history.maxima[column], history.maximaTimes[column]) = history.largest(
                    in: column,
                    from: from,
                    to: index
                )
            }
            let baseline = history.maxima[column]
            let value = history.value(at: index, column: column)
            if value >= history.maxima[column] {
                history.maxima[column] = value
                history.maximaTimes[column] = time
            }
            // Most hours are below the excess over any baseline.
            guard value >= rule.minimumExcess, rule.isSpike(value, baseline: baseline, hours: hours) else { continue }
            flags |= 1 << column
            emit(time, column, value, (baseline, hours), true, &context)
        }
        history.maximaValid = true
        history.flags[index] = flags
    }

    /// Emits the row of an hour and column.
    func emit(
        _ time: Int64,
        _ column: Int,
        _ value: Double,
        _ baseline: (value: Double, hours: Int),
        _ isSpike: Bool,
        _ context: inout KeyedProcessContext<String, SpikeHistory, SpikeRow>
    ) {
        let timestamp = Timestamp(microseconds: time)
        let row = SpikeRow(
            time: timestamp,
            flow: Flow(rawValue: column)!,
            value: value,
            baseline: baseline.value,
            baselineHours: baseline.hours,
            isSpike: isSpike
        )
        context.emit(row, at: timestamp)
    }
}

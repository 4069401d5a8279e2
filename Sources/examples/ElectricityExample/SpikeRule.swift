/// When an hourly value of a flow column counts as a spike: far above the column's rolling
/// baseline, the largest value of the same column in the preceding hours.
///
/// An hour is flagged when
///
/// - at least ``minimumHours`` of the preceding ``lookbackHours`` hours are present (so the first
///   day of a file, or the hours after a long gap, are not judged), and
/// - its value exceeds ``factor`` × the baseline, and
/// - it exceeds the baseline by at least ``minimumExcess`` MWh.
///
/// The baseline is the rolling **maximum**, not a median or a mean: the cross-border flows switch
/// between zero and thousands of MWh from one week to the next (a column is often zero for days,
/// then carries 2,000 MWh an hour), so a value three times the rolling median or mean is ordinary
/// (over the real file, 3 × the week's median and 1,000 MWh more flags 17,636 hours; 4 × the week's
/// mean and 2,000 MWh more, 1,025). An hour half as large
/// again as anything the column carried in the past week, and 2,000 MWh more, is not: over the real
/// file the defaults flag three hours, all FR→CH in 2023 (23,635 MWh on 8 January at 06:00 against
/// a weekly maximum of 4,269; 10,854 on 7 May; 4,212 on 23 July).
public struct SpikeRule: Sendable, Hashable, Codable {
    /// How far back the baseline looks, in hours.
    public var lookbackHours: Int
    /// How many hours the baseline needs before an hour is judged.
    public var minimumHours: Int
    /// How many times the baseline a spike exceeds.
    public var factor: Double
    /// By how many MWh a spike exceeds the baseline, at least.
    public var minimumExcess: Double
    /// How long after an hour a correction of it (or a late row) still re-judges it and the hours
    /// whose baseline it is part of, in hours. Older corrections still count in the totals.
    public var correctionHorizonHours: Int

    /// Creates a rule; the defaults are those described above.
    public init(
        lookbackHours: Int = 168,
        minimumHours: Int = 24,
        factor: Double = 1.5,
        minimumExcess: Double = 2000,
        correctionHorizonHours: Int = 168
    ) {
        self.lookbackHours = lookbackHours
        self.minimumHours = minimumHours
        self.factor = factor
        self.minimumExcess = minimumExcess
        self.correctionHorizonHours = correctionHorizonHours
    }

    /// Whether `value` is a spike against `baseline`, the maximum of `hours` preceding hours.
    public func isSpike(_ value: Double, baseline: Double, hours: Int) -> Bool {
        hours >= minimumHours && value > factor * baseline && value - baseline >= minimumExcess
    }
}

extension Duration {
    /// A duration of whole minutes, for window sizes: `.minutes(1)`.
    @inlinable
    public static func minutes(_ minutes: Int64) -> Duration { .seconds(minutes * 60) }

    /// A duration of whole hours.
    @inlinable
    public static func hours(_ hours: Int64) -> Duration { .seconds(hours * 3600) }

    /// The duration in microseconds, StreamKit's time unit, rounded towards zero.
    @inlinable
    public var streamKitMicroseconds: Int64 {
        let (seconds, attoseconds) = components
        let (micros, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return micros &+ attoseconds / 1_000_000_000_000
    }
}

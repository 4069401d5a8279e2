/// How a stream's watermark follows its event times.
///
/// StreamKit's watermark is the highest event time seen minus a bound: elements may arrive out of
/// order by up to the bound and still be on time. An element whose window has ended at or before the
/// watermark (plus the window's allowed lateness) is late.
public struct WatermarkStrategy: Sendable, Hashable {
    /// How far behind the highest event time seen the watermark stays.
    public var bound: Duration
    /// After this long without data (processing time), the input is idle and stops holding back
    /// the watermark of a merge or a multi-partition source. `nil`: never idle.
    public var idleTimeout: Duration?

    /// Elements may arrive up to `bound` out of order.
    /// - Parameters:
    ///   - bound: How far behind the highest event time seen the watermark stays.
    ///   - idleAfter: After how long without data the input counts as idle (`nil`: never).
    public static func boundedOutOfOrderness(_ bound: Duration, idleAfter: Duration? = nil) -> WatermarkStrategy {
        WatermarkStrategy(bound: bound, idleTimeout: idleAfter)
    }

    /// Event times never decrease: the watermark is the highest event time seen.
    public static func ascending(idleAfter: Duration? = nil) -> WatermarkStrategy {
        WatermarkStrategy(bound: .zero, idleTimeout: idleAfter)
    }

    /// The mistakes in this strategy, as messages that say what to change.
    func problems() -> [String] {
        var problems: [String] = []
        if bound < .zero { problems.append("the watermark bound is \(bound): use zero or a positive duration") }
        if let idleTimeout, idleTimeout <= .zero {
            problems.append("the idle timeout is \(idleTimeout): use a positive duration or nil")
        }
        return problems
    }
}

/// The watermark of an operator with several inputs: the minimum over the inputs that are neither
/// idle nor finished.
///
/// An input that went idle stops holding the watermark back until it sends data again; a finished
/// input counts as plus infinity. The combined watermark never moves backwards: an input that
/// comes back from idleness behind the others does not pull it back (its late elements are late).
struct WatermarkTracker {
    private var watermarks: [Timestamp]
    private var idle: [Bool]
    private var finished: [Bool]
    /// The combined watermark last computed.
    private(set) var current: Timestamp = .min
    /// Whether every input that has not finished is idle.
    private(set) var allIdle = false

    /// Creates a tracker for `inputs` inputs, all at minus infinity.
    init(inputs: Int) {
        precondition(inputs > 0)
        watermarks = Array(repeating: .min, count: inputs)
        idle = Array(repeating: false, count: inputs)
        finished = Array(repeating: false, count: inputs)
    }

    /// The number of inputs.
    var inputs: Int { watermarks.count }

    /// Whether input `input` has finished.
    func isFinished(_ input: Int) -> Bool { finished[input] }

    /// Whether every input has finished.
    var allFinished: Bool { !finished.contains(false) }

    /// Records input `input`'s watermark and returns the combined one.
    @discardableResult
    mutating func update(_ input: Int, to watermark: Timestamp) -> Timestamp {
        idle[input] = false
        if watermark > watermarks[input] { watermarks[input] = watermark }
        return recompute()
    }

    /// Marks input `input` active again (it sent data).
    mutating func activate(_ input: Int) {
        if idle[input] {
            idle[input] = false
            recompute()
        }
    }

    /// Marks input `input` idle and returns the combined watermark.
    @discardableResult
    mutating func markIdle(_ input: Int) -> Timestamp {
        idle[input] = true
        return recompute()
    }

    /// Marks input `input` finished and returns the combined watermark.
    @discardableResult
    mutating func finish(_ input: Int) -> Timestamp {
        finished[input] = true
        watermarks[input] = .max
        idle[input] = false
        return recompute()
    }

    /// The combined watermark if input `input` were at `watermark`, without recording it: the
    /// watermark in force before an element of that input.
    func combined(ifInput input: Int, were watermark: Timestamp) -> Timestamp {
        var minimum = Timestamp.max
        var any = false
        for index in watermarks.indices where !idle[index] || index == input {
            let value = index == input ? Swift.max(watermark, watermarks[index]) : watermarks[index]
            minimum = Swift.min(minimum, value)
            any = true
        }
        return any ? Swift.max(current, minimum) : current
    }

    @discardableResult
    private mutating func recompute() -> Timestamp {
        var minimum = Timestamp.max
        var nonIdle = 0
        var unfinished = 0
        for index in watermarks.indices {
            if !finished[index] { unfinished += 1 }
            if idle[index] { continue }
            nonIdle += 1
            minimum = Swift.min(minimum, watermarks[index])
        }
        allIdle = unfinished > 0 && !watermarks.indices.contains { !finished[$0] && !idle[$0] }
        // With every input idle there is nothing to take the minimum of: hold the watermark.
        if nonIdle == 0 { return current }
        if minimum > current { current = minimum }
        return current
    }
}

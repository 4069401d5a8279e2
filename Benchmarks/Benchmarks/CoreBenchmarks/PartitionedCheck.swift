import StreamKit

/// How the benchmarks over a partitioned source check their output.
///
/// With several partitions the watermark is the minimum over them, so an element is never judged
/// later than in one stream, but a 2-minute straggler that one stream calls late is on time when
/// it comes while another partition's task lags a minute behind (at the start, before every
/// partition has sent data, the watermark is minus infinity). How many depends on scheduling. The
/// check therefore holds every window to what one stream gives, plus some of that window's own
/// stragglers: the same windows; in each, the reference's readings and between none and all of
/// the window's stragglers; when none, exactly the reference's mean (values are multiples of
/// 1/1024, so sums are exact in any order); when some, a mean that fits them. Windows that end
/// before the first reading can only hold stragglers and are left out by the pipeline.
enum PartitionedCheck {
    /// One window of the reference: the readings one stream counts in it, and the stragglers it
    /// judges late.
    struct Window {
        var count = 0
        var sum = 0.0
        var stragglers = 0
    }

    /// The reference, per (sensor, window start): the Dictionary loop's rule, one stream.
    static let reference: [WindowLoops.WindowKey: Window] = {
        let size = Workload.windowSize
        var windows: [WindowLoops.WindowKey: Window] = [:]
        var highest = Int64.min
        for event in Workload.events {
            let time = event.time.microseconds
            let start = WindowLoops.windowStart(of: time, size: size)
            let key = WindowLoops.WindowKey(sensor: event.sensor, windowStart: start)
            if start + size <= WindowLoops.watermark(highest: highest, bound: Workload.watermarkBound) {
                windows[key, default: Window()].stragglers += 1
            } else {
                windows[key, default: Window()].count += 1
                windows[key, default: Window()].sum += event.value
            }
            highest = max(highest, time)
        }
        return windows.filter { $0.value.count > 0 }
    }()

    /// Checks `results` against ``reference``; returns what is wrong, or `nil` and how many
    /// stragglers the run counted.
    static func check(_ results: [WindowResult<Int, (Int, Double)>]) -> (problem: String?, stragglers: Int) {
        var accepted = 0
        var seen = Set<WindowLoops.WindowKey>()
        for result in results {
            let key = WindowLoops.WindowKey(sensor: result.key, windowStart: result.window.start.microseconds)
            guard let expected = reference[key] else { return ("a window the reference does not have: \(key)", 0) }
            guard seen.insert(key).inserted else { return ("window \(key) emitted twice", 0) }
            let (count, mean) = result.value
            let extra = count - expected.count
            guard extra >= 0, extra <= expected.stragglers else {
                return ("window \(key) counts \(count), expected \(expected.count) + up to \(expected.stragglers)", 0)
            }
            if extra == 0 {
                guard mean == expected.sum / Double(expected.count) else {
                    return ("window \(key) has mean \(mean), expected \(expected.sum / Double(expected.count))", 0)
                }
            } else {
                // Each straggler's value is between 10 and 30.
                let extraSum = mean * Double(count) - expected.sum
                guard extraSum >= Double(extra) * 10 - 1e-6, extraSum <= Double(extra) * 30 + 1e-6 else {
                    return ("window \(key): \(extra) stragglers summing to \(extraSum)", 0)
                }
            }
            accepted += extra
        }
        guard seen.count == reference.count else {
            return ("\(reference.count - seen.count) windows of the reference missing", 0)
        }
        return (nil, accepted)
    }
}

import Foundation

/// Numbers as people read them, on the examples' pages and consoles: thousands separators
/// (`108,395,988`), a fixed number of decimals, and scientific notation where plain digits would
/// run to hundreds of characters (a sensor that sent `1e300`).
public enum NumberFormat {
    /// Magnitudes from which plain digits stop being readable: `1.23e+15` instead of 16 digits.
    static let scientificFrom = 1e15

    /// `value` with thousands separators and `fractionDigits` decimals: `108395988` gives
    /// `108,395,988`, `-1234.5` with one decimal gives `-1,234.5`. Non-finite values give `inf`,
    /// `-inf` or `nan`; magnitudes of 10¹⁵ and more give scientific notation.
    public static func grouped(_ value: Double, fractionDigits: Int = 0) -> String {
        guard value.isFinite else { return value.isNaN ? "nan" : (value < 0 ? "-inf" : "inf") }
        if abs(value) >= scientificFrom { return scientific(value) }
        let digits = min(max(0, fractionDigits), 6)
        // Integer arithmetic on the value in units of its last decimal: `String(format:)` costs
        // microseconds a call on Linux, and a page writes thousands of numbers.
        let scale = pow(10, Double(digits))
        guard abs(value) * scale < 9e18 else { return scientific(value) }
        let units = Int64((abs(value) * scale).rounded())
        let divisor = Int64(scale)
        let whole = String(units / divisor)
        var integer = ""
        integer.reserveCapacity(whole.count + whole.count / 3)
        for (index, digit) in whole.enumerated() {
            if index > 0 && (whole.count - index) % 3 == 0 { integer.append(",") }
            integer.append(digit)
        }
        var fraction = ""
        if digits > 0 {
            let text = String(units % divisor)
            fraction = "." + String(repeating: "0", count: digits - text.count) + text
        }
        // A small negative number that rounds to zero reads as zero, not "-0".
        let sign = value < 0 && units > 0 ? "-" : ""
        return sign + integer + fraction
    }

    /// A value for a console line or a table cell: integers without decimals (`44`, `1,200`),
    /// others with `fractionDigits` decimals (`21.52`), very large or very small magnitudes in
    /// scientific notation (`1e+300`, `2.5e-07`), so that one odd value cannot fill a screen.
    public static func human(_ value: Double, fractionDigits: Int = 2) -> String {
        guard value.isFinite else { return grouped(value) }
        let magnitude = abs(value)
        if magnitude >= scientificFrom || (magnitude > 0 && magnitude < 1e-3) { return scientific(value) }
        return grouped(value, fractionDigits: value == value.rounded() ? 0 : fractionDigits)
    }

    /// The label of an axis tick at `value` on an axis whose ticks are `step` apart: as many
    /// decimals as the step needs (`2.5` for a step of 0.5, `100,000` for a step of 50,000).
    public static func tick(_ value: Double, step: Double) -> String {
        guard step > 0, step.isFinite else { return human(value) }
        if max(abs(value), step) >= scientificFrom { return scientific(value) }
        let digits = max(0, Int((-log10(step)).rounded(.up)))
        // A step such as 0.25 needs one decimal more than its order of magnitude.
        let exact = (0...6).first { places in
            let scaled = step * pow(10, Double(digits + places))
            return abs(scaled - scaled.rounded()) < 1e-6
        }
        return grouped(value, fractionDigits: digits + (exact ?? 0))
    }

    /// Three significant digits in scientific notation: `1e+300`, `-2.5e+16`.
    static func scientific(_ value: Double) -> String { String(format: "%.3g", value) }
}

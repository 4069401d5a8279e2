/// The arithmetic behind ``Mean`` and ``WelfordAccumulator``: values divided by a power of two
/// chosen from the largest magnitude seen, so that sums, deviations and their squares stay far from
/// both ends of `Double`'s range, and sums carried with their rounding error (double-double), so
/// that a large common offset does not eat the digits of small deviations.
@usableFromInline
enum ScaledArithmetic {
    /// `value × 2^exponent`, exact unless the result is subnormal; safe for any exponent.
    @inlinable
    static func scale(_ value: Double, by exponent: Int) -> Double {
        Double(sign: .plus, exponent: exponent, significand: value)
    }

    /// The exponent that makes a finite, non-zero `value` smaller than 1 in magnitude once divided
    /// by 2 to its power.
    @inlinable
    static func exponent(fitting value: Double) -> Int { value.exponent + 1 }

    /// `a + b` and the rounding error of that sum (Knuth's TwoSum): `sum + error == a + b` exactly.
    @inlinable
    static func twoSum(_ a: Double, _ b: Double) -> (sum: Double, error: Double) {
        let sum = a + b
        let b2 = sum - a
        let a2 = sum - b2
        return (sum, (a - a2) + (b - b2))
    }
}

import Foundation
import StreamKit
import Testing

/// Mean, variance and standard deviation against Python's `statistics` module, which computes with
/// exact fractions. The expected values were computed once with
/// `python3 -c 'import statistics as st; print(repr(st.mean(v)), repr(st.pstdev(v)), repr(st.stdev(v)))'`;
/// `nil` marks a result that does not fit a `Double` (Python raises `OverflowError`).
@Suite struct NumericsTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var values: [Double]
        var mean: Double
        var populationDeviation: Double
        var sampleDeviation: Double?
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "opposite extremes",
            values: [-1e308, 1e308],
            mean: 0,
            populationDeviation: 1e308,
            sampleDeviation: 1.4142135623730951e308
        ),
        Case(
            name: "near the largest double",
            values: [1e308, 1.7e308],
            mean: 1.35e308,
            populationDeviation: 3.4999999999999996e307,
            sampleDeviation: 4.949747468305832e307
        ),
        Case(
            name: "huge values cancelling",
            values: [1e200, -1e200, 3],
            mean: 1,
            populationDeviation: 8.16496580927726e199,
            sampleDeviation: 1e200
        ),
        Case(
            name: "both ends of the range",
            values: [-1.7e308, 1.7e308],
            mean: 0,
            populationDeviation: 1.7e308,
            sampleDeviation: nil
        ),
        Case(
            name: "tiny values",
            values: [1e-300, 2e-300, 3e-300, 4.5e-300],
            mean: 2.625e-300,
            populationDeviation: 1.293010054098575e-300,
            sampleDeviation: 1.4930394055974099e-300
        ),
        Case(
            name: "subnormal values",
            values: [5e-324, 1e-323, 2e-323, 1.5e-323],
            mean: 1e-323,
            populationDeviation: 5e-324,
            sampleDeviation: 5e-324
        ),
        Case(
            name: "large offset small spread",
            values: (-500...500).map { 1e9 + 0.001 * Double($0) },
            mean: 1e9,
            populationDeviation: 0.28896366553929687,
            sampleDeviation: 0.2891081112696573
        ),
        Case(
            name: "mixed magnitudes",
            values: [1e-300, 1, -3e5, 7e12, 2.5],
            mean: 1_399_999_940_000.7,
            populationDeviation: 2_800_000_029_999.6523,
            sampleDeviation: 3_130_495_202_040.3364
        ),
    ]

    /// Equal within 1e-13 relative, or equal (subnormal results, where one unit is the whole value).
    static func close(_ actual: Double, _ expected: Double) -> Bool {
        actual == expected || abs(actual - expected) <= 1e-13 * abs(expected)
    }

    func run<A: Aggregation>(_ aggregation: A, over values: some Collection<Double>) -> A.Accumulator
    where A.Input == Double {
        var accumulator = aggregation.accumulator(for: values.first!)
        for value in values.dropFirst() { aggregation.add(value, to: &accumulator) }
        return accumulator
    }

    /// The accumulators of two parts of `values`, merged: how two-phase windows and session
    /// windows combine partial results.
    func runMerged<A: Aggregation>(_ aggregation: A, over values: [Double], split: Int) -> A.Accumulator
    where A.Input == Double {
        var left = run(aggregation, over: values[..<split])
        aggregation.merge(run(aggregation, over: values[split...]), into: &left)
        return left
    }

    @Test(arguments: cases)
    func meanMatchesPythonStatistics(_ test: Case) {
        let mean = Mean<Double> { $0 }
        #expect(Self.close(mean.output(of: run(mean, over: test.values)), test.mean))
        #expect(Self.close(mean.output(of: run(mean, over: test.values.reversed())), test.mean))
        for split in [1, test.values.count / 2, test.values.count - 1] {
            #expect(Self.close(mean.output(of: runMerged(mean, over: test.values, split: split)), test.mean))
        }
    }

    @Test(arguments: cases)
    func standardDeviationMatchesPythonStatistics(_ test: Case) {
        let population = StandardDeviation<Double>(.population) { $0 }
        let sample = StandardDeviation<Double>(.sample) { $0 }
        let orders = [test.values, test.values.reversed()]
        for values in orders {
            let accumulator = run(population, over: values)
            #expect(Self.close(population.output(of: accumulator), test.populationDeviation))
            #expect(Self.close(accumulator.mean, test.mean))
            #expect(Self.close(sample.output(of: accumulator), test.sampleDeviation ?? .infinity))
            for split in [1, values.count / 2, values.count - 1] {
                let merged = runMerged(population, over: values, split: split)
                #expect(Self.close(population.output(of: merged), test.populationDeviation))
                #expect(Self.close(sample.output(of: merged), test.sampleDeviation ?? .infinity))
            }
        }
    }

    @Test func varianceIsInfiniteOnlyWhenTheTrueVarianceDoesNotFit() {
        let variance = Variance<Double>(.population) { $0 }
        // 1e308² does not fit a Double: the variance is infinite, its square root is not.
        #expect(variance.output(of: run(variance, over: [-1e308, 1e308])) == .infinity)
        // Python: statistics.pvariance([1e154, -1e154, 3]) == 6.666666666666667e+307
        #expect(Self.close(variance.output(of: run(variance, over: [1e154, -1e154, 3])), 6.666666666666667e307))
        // Python: statistics.pvariance([1e-160, 3e-160]) == 1e-320 (subnormal)
        #expect(variance.output(of: run(variance, over: [1e-160, 3e-160])) == 1e-320)
    }

    @Test func accumulatorsSurviveACheckpointRoundTrip() throws {
        let values = Self.cases[6].values
        let deviation = StandardDeviation<Double>(.population) { $0 }
        var accumulator = run(deviation, over: values[..<300])
        let restored = try JSONDecoder().decode(
            WelfordAccumulator.self,
            from: JSONEncoder().encode(accumulator)
        )
        #expect(restored == accumulator)
        accumulator = restored
        for value in values[300...] { deviation.add(value, to: &accumulator) }
        #expect(Self.close(deviation.output(of: accumulator), Self.cases[6].populationDeviation))
    }

    @Test func nonFiniteValuesGiveTheIEEEResult() {
        let mean = Mean<Double> { $0 }
        let deviation = StandardDeviation<Double> { $0 }
        #expect(mean.output(of: run(mean, over: [1, .infinity, 2])) == .infinity)
        #expect(mean.output(of: run(mean, over: [1, -.infinity])) == -.infinity)
        #expect(mean.output(of: run(mean, over: [.infinity, 1, -.infinity])).isNaN)
        #expect(mean.output(of: run(mean, over: [1, .nan])).isNaN)
        #expect(deviation.output(of: run(deviation, over: [1, .infinity])).isNaN)
        #expect(deviation.output(of: run(deviation, over: [.nan, 1])).isNaN)
        #expect(run(deviation, over: [1, .infinity]).mean == .infinity)
        // Merged: a partial result with a non-finite value taints the whole.
        var finite = run(deviation, over: [1, 2, 3])
        deviation.merge(run(deviation, over: [.infinity]), into: &finite)
        #expect(deviation.output(of: finite).isNaN)
        #expect(finite.count == 4)
    }
}

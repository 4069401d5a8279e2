import FileReference
import Foundation
import StreamKit

/// The canonical workload (10 million readings of 1,000 sensors, as the core benchmarks generate
/// them) written once per machine as files: CSV, JSON Lines, and the CSV with the value of every
/// tenth row replaced by `n/a`. The C reference writes them, so that both sides read the same bytes.
enum FileWorkload {
    /// How many readings each file holds.
    static let rowCount: Int64 = 10_000_000
    /// The folder of the files: a temporary folder, kept between runs (generating takes seconds).
    static let directory = NSTemporaryDirectory() + "streamkit-file-benchmarks"
    static let csv = directory + "/readings.csv"
    static let jsonLines = directory + "/readings.jsonl"
    static let badCSV = directory + "/readings-10pct-bad.csv"

    /// Writes the files if they are not there yet.
    static func prepare() throws {
        let marker = directory + "/complete-\(rowCount)"
        if FileManager.default.fileExists(atPath: marker) { return }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        guard fr_generate(csv, jsonLines, badCSV, rowCount, 0x5EED_5EED) == 0 else {
            throw StreamKitError(code: .io, message: "cannot write the benchmark files in \(directory)")
        }
        FileManager.default.createFile(atPath: marker, contents: nil)
    }

    /// What the C loop computes for `path`, computed once per file outside timing.
    static let references: [String: fr_tally] = {
        var references: [String: fr_tally] = [:]
        for path in [csv, badCSV] { references[path] = fr_csv_windows(path) }
        return references
    }()
}

/// One reading, as the files hold it.
struct Reading: Decodable, Sendable {
    var sensor: Int
    var time: Timestamp
    var value: Double
}

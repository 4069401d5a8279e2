import StreamKit

/// The eight cross-border flows of the Swiss Federal Office of Energy's file (ogd107), in its
/// column order: four imports into Switzerland, then four exports.
public enum Flow: Int, CaseIterable, Sendable, Codable {
    case austriaToSwitzerland, germanyToSwitzerland, franceToSwitzerland, italyToSwitzerland
    case switzerlandToAustria, switzerlandToGermany, switzerlandToFrance, switzerlandToItaly

    /// The column's name in the file, such as `AT_CH_MWh`.
    public var column: String {
        ["AT_CH_MWh", "DE_CH_MWh", "FR_CH_MWh", "IT_CH_MWh", "CH_AT_MWh", "CH_DE_MWh", "CH_FR_MWh", "CH_IT_MWh"][
            rawValue
        ]
    }

    /// Whether the flow goes into Switzerland.
    public var isImport: Bool { rawValue < 4 }

    /// The partner country, such as `DE`.
    public var partner: String { ["AT", "DE", "FR", "IT"][rawValue % 4] }
}

/// One hourly row of the file: the instant (UTC) and the eight flows in MWh.
public struct FlowRow: Sendable, Codable, Hashable {
    /// The start of the hour, as an instant.
    public var time: Timestamp
    /// The flows in MWh, indexed by ``Flow/rawValue``.
    public var flows: [Double]

    /// Creates a row.
    public init(time: Timestamp, flows: [Double]) {
        self.time = time
        self.flows = flows
    }

    /// The header of the file.
    public static let header = "Datetime," + Flow.allCases.map(\.column).joined(separator: ",") + ",Nettoimport"

    /// Reads one line of the file: `2017-01-01T00:00:00+0100,793,2953,0,1110,0,566,1451,0,2839`.
    /// The offset may lack its colon (the file writes `+0100`); the last column (the file's own net
    /// import) is not needed, since net import is computed.
    /// - Throws: ``FlowRowError`` with what is wrong with the line.
    public static func parse(_ line: some StringProtocol) throws -> FlowRow {
        let fields = line.split(separator: ",", omittingEmptySubsequences: false)
        guard fields.count == 10 else {
            throw FlowRowError(reason: "expected 10 comma-separated fields, found \(fields.count)")
        }
        var text = String(fields[0])
        // `+0100` → `+01:00`, which ISO 8601 readers agree on.
        if let sign = text.lastIndex(where: { $0 == "+" || $0 == "-" }),
            text.distance(from: sign, to: text.endIndex) == 5,
            text[sign...].dropFirst().allSatisfy(\.isNumber)
        {
            text.insert(":", at: text.index(sign, offsetBy: 3))
        }
        let time: Timestamp
        do {
            time = try Timestamp(iso8601: text)
        } catch {
            throw FlowRowError(reason: "'\(fields[0])' is not a timestamp with an offset")
        }
        var flows: [Double] = []
        flows.reserveCapacity(8)
        for (index, field) in fields[1...8].enumerated() {
            guard let value = Double(field), value.isFinite, value >= 0 else {
                throw FlowRowError(reason: "\(Flow(rawValue: index)!.column) is '\(field)', not a non-negative number")
            }
            flows.append(value)
        }
        return FlowRow(time: time, flows: flows)
    }

    /// The imports into Switzerland in the hour.
    public var imports: Double { flows[0..<4].reduce(0, +) }
    /// The exports from Switzerland in the hour.
    public var exports: Double { flows[4..<8].reduce(0, +) }
}

/// Why a line of the file cannot be read.
public struct FlowRowError: Error, CustomStringConvertible {
    /// What is wrong.
    public var reason: String
    /// The reason.
    public var description: String { reason }
}

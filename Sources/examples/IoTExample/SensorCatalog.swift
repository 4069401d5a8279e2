import Foundation

/// What the catalogue knows about one sensor: where it is, what it measures and its valid range.
public struct SensorInfo: Codable, Sendable, Hashable {
    /// Position on the site plan.
    public var lat: Double
    /// Position on the site plan.
    public var lng: Double
    /// The unit of the values, such as `C`.
    public var unit: String
    /// What the sensor measures, such as `temperature`.
    public var type: String
    /// The lowest and highest valid value.
    public var range: [Double]
    /// Where the sensor is.
    public var description: String

    /// The valid values, when the range is well formed.
    public var validRange: ClosedRange<Double>? {
        guard range.count == 2, range[0] <= range[1] else { return nil }
        return range[0]...range[1]
    }
}

/// The sensor list of the IoT challenge (`sensors.json`), keyed by sensor id.
public struct SensorCatalog: Sendable {
    /// The sensors by id, such as `Sensor 1`.
    public var sensors: [String: SensorInfo]

    /// Creates a catalogue.
    public init(sensors: [String: SensorInfo]) {
        self.sensors = sensors
    }

    /// Reads a catalogue in the format of the challenge's `sensors.json`.
    public init(contentsOf url: URL) throws {
        sensors = try JSONDecoder().decode([String: SensorInfo].self, from: Data(contentsOf: url))
    }

    /// The challenge's five sensors, shipped with the example.
    public static func bundled() throws -> SensorCatalog {
        guard let url = Bundle.module.url(forResource: "sensors", withExtension: "json") else {
            throw CocoaError(
                .fileNoSuchFile,
                userInfo: [NSLocalizedDescriptionKey: "sensors.json is not in the bundle"]
            )
        }
        return try SensorCatalog(contentsOf: url)
    }

    /// The bundled sensors, extended with synthetic temperature sensors up to `count` sensors
    /// (`Sensor 6`, `Sensor 7`, …), for load tests with thousands of sensors.
    public func extended(to count: Int) -> SensorCatalog {
        var sensors = self.sensors
        var number = 1
        while sensors.count < count {
            let id = "Sensor \(number)"
            if sensors[id] == nil {
                sensors[id] = SensorInfo(
                    lat: Double(number % 100),
                    lng: Double((number / 100) % 100),
                    unit: "C",
                    type: "temperature",
                    range: [0, 45],
                    description: "Synthetic sensor \(number)"
                )
            }
            number += 1
        }
        return SensorCatalog(sensors: sensors)
    }

    /// The sensor ids in natural order (`Sensor 2` before `Sensor 10`).
    public var ids: [String] {
        sensors.keys.sorted { $0.compare($1, options: .numeric) == .orderedAscending }
    }
}

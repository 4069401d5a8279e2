import StreamKit

/// One reading as the sensors publish it on topic `sensors`:
/// `{"id": "Sensor 1", "dt": "2024-01-01T13:45:12.123456", "value": 21}` (time in UTC, no offset).
public struct SensorReading: Codable, Sendable, Hashable {
    /// The sensor's id, a key of the ``SensorCatalog``.
    public var id: String
    /// When the value was measured (event time).
    public var dt: Timestamp
    /// The measured value.
    public var value: Double

    /// Creates a reading.
    public init(id: String, dt: Timestamp, value: Double) {
        self.id = id
        self.dt = dt
        self.value = value
    }
}

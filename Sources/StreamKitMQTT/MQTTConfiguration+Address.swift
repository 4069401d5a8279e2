extension MQTTConfiguration {
    /// A configuration for `address` given as `host:port` (or `host`, port 1883).
    /// - Throws: When the port is not a number in 1...65535, with a message that says so.
    public init(address: String, clientID: String?) throws {
        let parts = address.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count <= 2, let host = parts.first, !host.isEmpty else {
            throw BrokerAddressError(message: "broker address '\(address)' is not host:port, such as 127.0.0.1:1883")
        }
        var port = 1883
        if parts.count == 2 {
            guard let number = Int(parts[1]), (1...65535).contains(number) else {
                throw BrokerAddressError(message: "broker address '\(address)': the port must be a number in 1...65535")
            }
            port = number
        }
        self.init(host: String(host), port: port, clientID: clientID)
    }
}

/// A broker address that cannot be used.
public struct BrokerAddressError: Error, CustomStringConvertible {
    /// What is wrong and what to write instead.
    public var message: String
    /// The message.
    public var description: String { message }
}

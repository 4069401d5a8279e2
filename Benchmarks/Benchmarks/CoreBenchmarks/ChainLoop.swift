/// A reading converted to degrees Fahrenheit: the element between the stateless chain's two maps.
struct Fahrenheit: Sendable {
    /// The sensor that sent the reading.
    var sensor: Int
    /// The reading, in degrees Fahrenheit.
    var degrees: Double
}

/// The stateless chain benchmarked against the engine's `map`, `filter`, `map`: convert each reading
/// to Fahrenheit, keep those above 68 °F (about half), and compute how far above they are. The
/// engine and the loop call the same three functions.
enum Chain {
    /// The first map.
    @Sendable
    static func toFahrenheit(_ event: Event) -> Fahrenheit {
        Fahrenheit(sensor: event.sensor, degrees: event.value * 1.8 + 32)
    }

    /// The filter.
    @Sendable
    static func isWarm(_ reading: Fahrenheit) -> Bool {
        reading.degrees > 68
    }

    /// The second map.
    @Sendable
    static func excess(_ reading: Fahrenheit) -> Double {
        reading.degrees - 68
    }

    /// The fingerprint of an output of the chain: its exact bits.
    @Sendable
    static func fingerprint(_ excess: Double) -> UInt64 {
        excess.bitPattern
    }
}

/// The stateless chain as a plain loop.
enum ChainLoop {
    /// Runs the chain over `events` and tallies its outputs.
    static func run(_ events: [Event]) -> Tally {
        var tally = Tally()
        for event in events {
            let reading = Chain.toFahrenheit(event)
            if Chain.isWarm(reading) { tally.add(Chain.fingerprint(Chain.excess(reading))) }
        }
        return tally
    }
}

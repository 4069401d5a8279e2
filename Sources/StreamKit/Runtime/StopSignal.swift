import Synchronization

/// Tells the sources of a running pipeline to stop: set by ``Pipeline/stop()``.
final class StopSignal: Sendable {
    private let requested = Atomic<Bool>(false)

    /// Whether a stop was requested.
    var isRequested: Bool { requested.load(ordering: .acquiring) }

    /// Requests the stop.
    func request() { requested.store(true, ordering: .releasing) }

    /// How many source copies stopped before the end of their input.
    private let stoppedEarly = Atomic<Int>(0)

    /// A source copy stops before the end of its input, for a requested stop.
    func sourceStoppedEarly() { stoppedEarly.add(1, ordering: .releasing) }

    /// Whether a source stopped before the end of its input. A stop requested after every source
    /// had reached its end leaves this false: that run processed its whole input.
    var anySourceStoppedEarly: Bool { stoppedEarly.load(ordering: .acquiring) > 0 }
}

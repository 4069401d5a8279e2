import Synchronization

/// Tells the sources of a running pipeline to stop: set by ``Pipeline/stop()``.
final class StopSignal: Sendable {
    private let requested = Atomic<Bool>(false)

    /// Whether a stop was requested.
    var isRequested: Bool { requested.load(ordering: .acquiring) }

    /// Requests the stop.
    func request() { requested.store(true, ordering: .releasing) }
}

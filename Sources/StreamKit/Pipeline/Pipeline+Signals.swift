import Dispatch
import Foundation

extension Pipeline {
    /// Stops the pipeline gracefully (see ``stop()``) when the process receives SIGINT (Ctrl-C) or
    /// SIGTERM (what service managers and `kill` send), instead of letting the signal end the
    /// process on the spot.
    ///
    /// Call it before ``run(checkpoints:)``; ``run(checkpoints:)`` then returns normally after the
    /// final checkpoint, and the program can exit.
    ///
    /// - Important: It changes the process's handling of both signals for as long as the process
    ///   lives. A second signal while stopping ends the process at once.
    public func stopOnTermination() {
        Self.onTermination { [self] in stop() }
    }

    /// Runs `action` when the process receives SIGINT or SIGTERM, instead of letting the signal end
    /// the process: for programs that stop more than one pipeline, or stop other things first (an
    /// HTTP server before the pipeline behind it). A second signal ends the process at once.
    ///
    /// - Important: It changes the process's handling of both signals for as long as the process
    ///   lives.
    public static func onTermination(_ action: @escaping @Sendable () -> Void) {
        let count = SignalCount()
        for signal in [SIGINT, SIGTERM] {
            Foundation.signal(signal, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signal, queue: .global())
            source.setEventHandler {
                if count.increment() > 1 { exit(128 + signal) }
                action()
            }
            source.resume()
            SignalSources.keep(source)
        }
    }
}

/// Keeps the signal sources alive for the life of the process.
private enum SignalSources {
    nonisolated(unsafe) private static var sources: [any DispatchSourceSignal] = []
    private static let lock = NSLock()

    /// `sources` is only touched with `lock` held, which makes the `nonisolated(unsafe)` safe.
    static func keep(_ source: any DispatchSourceSignal) {
        lock.lock()
        sources.append(source)
        lock.unlock()
    }
}

/// How many times a signal arrived.
private final class SignalCount: @unchecked Sendable {
    // `@unchecked Sendable` is safe: `value` is only touched with `lock` held.
    private let lock = NSLock()
    private var value = 0

    func increment() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value
    }
}

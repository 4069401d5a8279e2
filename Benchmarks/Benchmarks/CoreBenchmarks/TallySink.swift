import StreamKit
import Synchronization

/// A sink that keeps nothing but a ``Tally`` of what it receives: the number of elements and the
/// wrapping sum of a fingerprint of each, so that the benchmarks measure the engine, not a sink that
/// stores millions of elements, and can still check the engine's output against a hand-written loop.
final class TallySink<Element: Sendable>: Sink, Sendable {
    private let fingerprint: @Sendable (Element) -> UInt64
    private let total = Mutex(Tally())

    /// Creates a sink that fingerprints each element with `fingerprint`.
    init(fingerprint: @escaping @Sendable (Element) -> UInt64) {
        self.fingerprint = fingerprint
    }

    /// The tally of the elements received so far.
    var tally: Tally { total.withLock { $0 } }

    /// Returns a writer that adds to this sink's tally.
    func makeWriter(context: SinkContext) async throws -> Writer { Writer(sink: self) }

    /// Tallies a batch at a time, taking the lock once per batch.
    final class Writer: SinkWriter {
        private let sink: TallySink<Element>

        init(sink: TallySink<Element>) {
            self.sink = sink
        }

        /// Adds the batch to the tally.
        func write(_ batch: Batch<Element>) async throws {
            var tally = Tally()
            for element in batch.elements { tally.add(sink.fingerprint(element)) }
            sink.total.withLock {
                $0.count &+= tally.count
                $0.fingerprint &+= tally.fingerprint
            }
        }

        /// Nothing to flush.
        func finish() async throws {}
    }
}

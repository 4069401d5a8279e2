/// Hands batches to a ``SinkWriter``; a failure of the writer stops the pipeline with an error that
/// names the sink.
final class SinkOperator<Writer: SinkWriter>: BatchOperator {
    typealias Input = Writer.Element
    let writer: Writer
    let name: String

    init(writer: Writer, name: String) {
        self.writer = writer
        self.name = name
    }

    func process(_ batch: Batch<Writer.Element>) async throws {
        do { try await writer.write(batch) } catch { throw wrap(error) }
    }

    func advance(to watermark: Timestamp) async throws {
        do { try await writer.advance(to: watermark) } catch { throw wrap(error) }
    }

    func markIdle() async throws {}

    func finish() async throws {
        do { try await writer.finish() } catch { throw wrap(error) }
    }

    private func wrap(_ error: any Error) -> any Error {
        if error is StreamKitError { return error }
        return StreamKitError(code: .sinkFailed, message: "sink '\(name)' failed", underlying: error)
    }
}

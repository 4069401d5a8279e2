import CoreMetrics
import Hummingbird
import Logging
import Prometheus
import StreamKit

/// Pipeline health for Prometheus, in one line: the metrics StreamKit reports (see
/// ``StreamKit/StreamKitMetrics``) and any other swift-metrics of the process, served as
/// `GET /metrics` in the Prometheus text format, with `GET /health` (the process is alive) and
/// `GET /ready` (the sources are connected and the last checkpoint is recent — what the program
/// says through `isReady`).
///
/// ```swift
/// let exporter = PrometheusExporter.bootstrap()            // once, before building pipelines
/// Task { try await exporter.run(port: 9464) { pipelineIsConnected() } }
/// ```
///
/// ``bootstrap()`` installs the Prometheus backend for swift-metrics, which a process can do only
/// once; a program that already has a backend serves its own metrics instead.
public struct PrometheusExporter: Sendable {
    /// The registry the metrics are kept in.
    public let registry: PrometheusCollectorRegistry

    /// The exporter of the process, installed by the first call to ``bootstrap()``.
    private static let shared: PrometheusExporter = {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return PrometheusExporter(registry: registry)
    }()

    /// Installs the Prometheus backend for swift-metrics (once per process; later calls return
    /// the same exporter).
    public static func bootstrap() -> PrometheusExporter { shared }

    /// The metrics in the Prometheus text format.
    public func text() -> String { registry.emitToString() }

    /// The routes: `/metrics`, `/health`, `/ready`.
    public func router(isReady: @escaping @Sendable () async -> Bool = { true }) -> Router<BasicRequestContext> {
        let router = Router()
        addRoutes(to: router, isReady: isReady)
        return router
    }

    /// Adds `/metrics`, `/health` and `/ready` to a program's own router, so that one server
    /// answers its API and its health.
    public func addRoutes<Context: RequestContext>(
        to router: Router<Context>,
        isReady: @escaping @Sendable () async -> Bool = { true }
    ) {
        let registry = self.registry
        router.get("/metrics") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer()))
            )
        }
        router.get("/health") { _, _ in "alive\n" }
        router.get("/ready") { _, _ -> Response in
            let ready = await isReady()
            return Response(
                status: ready ? .ok : .serviceUnavailable,
                body: ResponseBody(byteBuffer: ByteBuffer(string: ready ? "ready\n" : "not ready\n"))
            )
        }
    }

    /// Serves the routes on `host:port` until the task is cancelled.
    public func run(
        host: String = "127.0.0.1",
        port: Int,
        isReady: @escaping @Sendable () async -> Bool = { true }
    ) async throws {
        let app = Application(
            router: router(isReady: isReady),
            configuration: .init(address: .hostname(host, port: port)),
            logger: Logger(label: "streamkit.prometheus")
        )
        try await app.runService(gracefulShutdownSignals: [])
    }
}

import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import StreamKit
import StreamKitHTTP
import StreamKitPrometheus
import Synchronization

/// Runs the dropzone: the HTTP API, the raw store and the pipeline, until SIGINT or SIGTERM.
///
/// Stopping is orderly: the server stops taking requests, the raw store syncs what it acknowledged
/// and closes, the pipeline processes the raw store to its end, and the last checkpoint is taken.
/// A SIGKILL skips all that and loses nothing acknowledged: the next start replays the raw store
/// from the last checkpoint.
///
/// Connections: one that sends nothing for ``idleTimeout`` is closed, whether it never sent a
/// request, stopped in the middle of its header or body, or waits between requests; a header must
/// therefore arrive whole within that time. At most ``maximumConnections`` are open at once; more
/// wait in the listen backlog. The descriptor limit is raised to its hard limit at start, and the
/// default maximum leaves 64 descriptors for the raw log, SQLite and checkpoints, so that a flood of
/// idle sockets delays clients but cannot make the process fail on `Too many open files`.
public struct DropzoneServer: Sendable {
    /// Where the raw store, the database and the checkpoints are kept.
    public var dataDirectory: String
    /// The address to listen on.
    public var host: String
    /// The port to listen on.
    public var port: Int
    /// Who may post.
    public var authentication: IngestAuthentication
    /// Who may read measurements, lineage and refused payloads (`nil`: those who may post).
    public var reads: IngestAuthentication?
    /// Who may read `/metrics` (`nil`: those who may read).
    public var metrics: IngestAuthentication?
    /// How long a connection may stay silent before it is closed.
    public var idleTimeout: Duration = .seconds(30)
    /// How many connections may be open at once (`nil`: the descriptor limit less 64).
    public var maximumConnections: Int?
    /// The largest accepted body, in bytes.
    public var maximumBodySize: Int
    /// How often checkpoints are taken.
    public var checkpointInterval: Duration = .seconds(2)

    /// Creates a server.
    public init(
        dataDirectory: String,
        host: String = "127.0.0.1",
        port: Int = 8080,
        authentication: IngestAuthentication,
        maximumBodySize: Int = 1 << 20
    ) {
        self.dataDirectory = dataDirectory
        self.host = host
        self.port = port
        self.authentication = authentication
        self.maximumBodySize = maximumBodySize
    }

    /// The raw store: one JSON line per received body.
    public var rawLogPath: String { "\(dataDirectory)/raw/bodies.jsonl" }
    /// The SQLite database.
    public var databasePath: String { "\(dataDirectory)/dropzone.sqlite" }
    /// The pipeline's checkpoints.
    public var checkpointDirectory: String { "\(dataDirectory)/checkpoints" }

    /// Runs until SIGINT or SIGTERM (or until `stop` is signalled, for tests and embedding).
    public func run(stop: DropzoneStop = DropzoneStop()) async throws {
        let exporter = PrometheusExporter.bootstrap()
        let log = try RawLog(path: rawLogPath)
        let store = try DropzoneStore(path: databasePath)
        let pipeline = DropzoneGraph.build(log: log, store: store)
        let ingest = HTTPIngest(
            log: log,
            authentication: authentication,
            maximumBodySize: maximumBodySize,
            validate: DropzoneMeasurement.check
        )
        let api = DropzoneAPI(ingest: ingest, store: store, exporter: exporter, reads: reads, metrics: metrics)
        let descriptors = Self.raiseDescriptorLimit()
        let connections = maximumConnections ?? Swift.max(16, descriptors - 64)
        let logger = Logger(label: "dropzone")
        var configuration = ApplicationConfiguration(address: .hostname(host, port: port))
        configuration.serverName = "StreamKit-dropzone"
        configuration.availableConnectionsDelegate = MaximumAvailableConnections(connections, logger: logger)
        let (seconds, attoseconds) = idleTimeout.components
        let http1 = HTTP1Channel.Configuration(
            additionalChannelHandlers: [HTTPParseErrorAnswer()],
            idleTimeout: .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        )
        let app = Application(
            router: api.router(logger: logger),
            server: .http1(configuration: http1),
            configuration: configuration,
            logger: logger
        )
        // The server's failure (a port in use) stops everything: nothing would be acknowledged.
        let serverFailure = Mutex<(any Error)?>(nil)
        let server = Task {
            do {
                try await app.runService(gracefulShutdownSignals: [])
            } catch {
                serverFailure.withLock { $0 = error }
                stop.raise()
            }
        }
        stop.onSignal {
            // No new acknowledgements, then everything acknowledged is processed.
            server.cancel()
            log.close()
        }
        print("dropzone listening on http://\(host):\(port) — raw store \(rawLogPath), database \(databasePath)")
        print(
            "POST /v1/measurements; GET /v1/measurements, /v1/measurements/{utc}/lineage, /v1/rejected, /openapi.json, /metrics"
        )
        print("connections: at most \(connections) open, closed after \(idleTimeout) without traffic")
        // The raw log is never exhausted: it grows again after a restart. The marker StreamKit writes
        // when a run reads its sources to their end (a graceful stop closes the log) would make
        // the next start process nothing while acknowledging posts; it goes, and the run resumes
        // from the last checkpoint.
        try? FileManager.default.removeItem(atPath: "\(checkpointDirectory)/FINISHED")
        do {
            try await pipeline.run(checkpoints: .every(checkpointInterval, in: checkpointDirectory))
        } catch {
            // The pipeline failed: stop acknowledging what nothing would process.
            stop.raise()
            await server.value
            throw error
        }
        await server.value
        if let failure = serverFailure.withLock({ $0 }) {
            throw DropzoneServerError(reason: "the HTTP server on \(host):\(port) failed: \(failure)")
        }
        print("stopped: \(log.count) raw records stored, all processed")
    }
}

extension DropzoneServer {
    /// Raises the soft limit on open descriptors to the hard limit; returns the limit in force.
    static func raiseDescriptorLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return Int(clamping: limit.rlim_cur)
    }
}

/// The dropzone could not serve.
public struct DropzoneServerError: Error, CustomStringConvertible, Sendable {
    /// What went wrong.
    public var reason: String

    /// What went wrong.
    public var description: String { reason }
}

/// A one-shot signal that stops a ``DropzoneServer``: raised by SIGINT, SIGTERM or ``raise()``.
public final class DropzoneStop: Sendable {
    private let state = Mutex<(raised: Bool, actions: [@Sendable () -> Void])>((false, []))

    /// Creates a signal; `handlesTermination` also raises it on SIGINT and SIGTERM.
    public init(handlesTermination: Bool = true) {
        guard handlesTermination else { return }
        Pipeline.onTermination { [self] in raise() }
    }

    /// Raises the signal: runs the actions once.
    public func raise() {
        let actions = state.withLock { state -> [@Sendable () -> Void] in
            if state.raised { return [] }
            state.raised = true
            return state.actions
        }
        for action in actions { action() }
    }

    /// Runs `action` when the signal is raised (at once if it already was).
    func onSignal(_ action: @escaping @Sendable () -> Void) {
        let now = state.withLock { state -> Bool in
            if state.raised { return true }
            state.actions.append(action)
            return false
        }
        if now { action() }
    }
}

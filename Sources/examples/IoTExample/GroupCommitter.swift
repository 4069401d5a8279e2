import GRDB
import StreamKit
import Synchronization

/// Writes batches to the ``BIStore`` on a task of its own, one transaction for everything that
/// waits: group commit.
///
/// A transaction costs about the same whether it holds one batch or fifty: SQLite writes every page
/// a transaction touched to the WAL once, and readings of 1,000 sensors touch about 1,000 pages of
/// the `readings` table whatever their number. While one transaction commits, the next batches
/// wait and then go together. At a low rate each batch commits at once (no added delay); at a high
/// rate transactions grow until the store keeps up.
///
/// The pipeline's task hands batches over with ``submit(_:)`` and goes on; it waits only when more
/// than `maximumPending` elements wait for the store (backpressure). ``drain()`` waits until all
/// is committed: at a checkpoint's barrier and at the end, so that what a checkpoint covers is in
/// the store. A failed transaction fails every later call with its error.
final class GroupCommitter<Element: Sendable>: Sendable {
    private struct State {
        var pending: [Batch<Element>] = []
        var pendingCount = 0
        var committing = false
        var failure: (any Error)?
        var spaceWaiters: [CheckedContinuation<Void, Never>] = []
        var idleWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())
    private let store: BIStore
    private let write: @Sendable (Database, Batch<Element>) throws -> Void
    private let maximumPending: Int

    init(
        store: BIStore,
        maximumPending: Int,
        write: @escaping @Sendable (Database, Batch<Element>) throws -> Void
    ) {
        self.store = store
        self.maximumPending = maximumPending
        self.write = write
    }

    /// Queues `batch` for the next transaction; waits while too much is queued.
    func submit(_ batch: Batch<Element>) async throws {
        let (starts, full) = try state.withLock { state -> (Bool, Bool) in
            if let failure = state.failure { throw failure }
            state.pending.append(batch)
            state.pendingCount += batch.count
            let starts = !state.committing
            state.committing = true
            return (starts, state.pendingCount > maximumPending)
        }
        if starts { Task { await self.commitWhileQueued() } }
        if full {
            await withCheckedContinuation { continuation in
                let resumes = state.withLock { state -> Bool in
                    guard state.pendingCount > maximumPending, state.committing else { return true }
                    state.spaceWaiters.append(continuation)
                    return false
                }
                if resumes { continuation.resume() }
            }
        }
        try throwIfFailed()
    }

    /// Waits until everything submitted is committed.
    func drain() async throws {
        await withCheckedContinuation { continuation in
            let resumes = state.withLock { state -> Bool in
                guard state.committing else { return true }
                state.idleWaiters.append(continuation)
                return false
            }
            if resumes { continuation.resume() }
        }
        try throwIfFailed()
    }

    private func throwIfFailed() throws {
        if let failure = state.withLock({ $0.failure }) { throw failure }
    }

    /// Commits what is queued, in one transaction, until nothing is.
    private func commitWhileQueued() async {
        while true {
            let (batches, waiters) = state.withLock { state -> ([Batch<Element>], [CheckedContinuation<Void, Never>]) in
                let batches = state.failure == nil ? state.pending : []
                state.pending = []
                state.pendingCount = 0
                if batches.isEmpty {
                    state.committing = false
                    defer {
                        state.spaceWaiters = []
                        state.idleWaiters = []
                    }
                    return ([], state.spaceWaiters + state.idleWaiters)
                }
                defer { state.spaceWaiters = [] }
                return (batches, state.spaceWaiters)
            }
            for waiter in waiters { waiter.resume() }
            if batches.isEmpty { return }
            let write = self.write
            do {
                try await store.database.write { db in
                    for batch in batches { try write(db, batch) }
                }
            } catch {
                state.withLock { $0.failure = error }
            }
        }
    }
}

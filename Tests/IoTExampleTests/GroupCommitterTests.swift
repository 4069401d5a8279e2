import Foundation
import GRDB
import StreamKit
import Synchronization
import Testing

@testable import IoTExample

/// The BI store's group commit: every submitted batch is committed by `drain()`, batches that wait
/// during a commit share the next transaction, and a failed transaction fails what follows.
@Suite struct GroupCommitterTests {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("group-\(UUID().uuidString).sqlite").path

    func makeStore() throws -> BIStore {
        let store = try BIStore(path: path)
        try store.database.write { db in try db.execute(sql: "CREATE TABLE numbers (n INTEGER PRIMARY KEY)") }
        return store
    }

    @Test func everyBatchIsCommittedAndWaitingBatchesShareATransaction() async throws {
        let store = try makeStore()
        defer { try? FileManager.default.removeItem(atPath: path) }
        // The start of the transaction each batch was written in.
        let transactions = Mutex<[Date]>([])
        let committer = GroupCommitter<Int>(store: store, maximumPending: 1_000_000) { db, batch in
            let date = try db.transactionDate
            transactions.withLock { $0.append(date) }
            // Slow enough that the other batches arrive while this transaction runs.
            if batch.elements.first == 0 { Thread.sleep(forTimeInterval: 0.2) }
            for number in batch.elements { try db.execute(sql: "INSERT INTO numbers VALUES (?)", arguments: [number]) }
        }
        for start in stride(from: 0, to: 10_000, by: 100) {
            try await committer.submit(Batch(elements: Array(start..<start + 100)))
        }
        try await committer.drain()
        let (count, sum) = try await store.database.read { db in
            (
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM numbers") ?? 0,
                try Int.fetchOne(db, sql: "SELECT SUM(n) FROM numbers") ?? 0
            )
        }
        #expect(count == 10_000)
        #expect(sum == (0..<10_000).reduce(0, +))
        let dates = transactions.withLock { $0 }
        #expect(dates.count == 100)
        // The first batch alone, the 99 that arrived during its 0.2 s together (or nearly).
        #expect(Set(dates).count < 10)
    }

    @Test func aFailedTransactionFailsDrainAndLaterSubmissions() async throws {
        let store = try makeStore()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let committer = GroupCommitter<Int>(store: store, maximumPending: 10) { db, batch in
            for number in batch.elements { try db.execute(sql: "INSERT INTO numbers VALUES (?)", arguments: [number]) }
        }
        try await committer.submit(Batch(elements: [1, 2, 3]))
        try await committer.drain()
        // 3 again: the primary key refuses it, the transaction fails.
        try await committer.submit(Batch(elements: [3, 4]))
        await #expect(throws: DatabaseError.self) { try await committer.drain() }
        await #expect(throws: DatabaseError.self) { try await committer.submit(Batch(elements: [5])) }
        let count = try await store.database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM numbers") }
        #expect(count == 3)
    }
}

import Foundation
import StreamKit
import StreamKitKafka
import Testing

/// Two processes of `kafka-scale-out` in one consumer group, with one shared checkpoint directory:
/// they split the partitions; one is killed with SIGKILL and the other takes its partitions over
/// from their last checkpoints. The union of the minute sums equals what the input says.
@Suite(.serialized) struct ScaleOutTests {
    static var products: URL { URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent() }
    static let base: Int64 = 1_704_067_200  // 2024-01-01T00:00:00Z
    static let partitions: Int32 = 4
    static let steps = 600

    /// The events of one partition: keys k<p>, k<p+4>, k<p+8>, k<p+12>, one each every 5 s.
    static func events(partition: Int32, steps range: Range<Int>) -> [String] {
        range.flatMap { step in
            stride(from: Int(partition), to: 16, by: Int(partitions)).map { key in
                "k\(key),\(base + Int64(step) * 5),\((step * 7 + key) % 13)"
            }
        }
    }

    /// `key,minute,count,sum` for every complete minute of the input.
    static func expected() -> Set<String> {
        var sums: [String: (count: Int, sum: Int)] = [:]
        for partition in 0..<partitions {
            for line in events(partition: partition, steps: 0..<steps) {
                let fields = line.split(separator: ",")
                let minute = (Int64(fields[1])! / 60) * 60
                let value = Int(fields[2])!
                sums["\(fields[0]),\(minute)", default: (0, 0)].count += 1
                sums["\(fields[0]),\(minute)", default: (0, 0)].sum += value
            }
        }
        return Set(sums.map { "\($0.key),\($0.value.count),\($0.value.sum)" })
    }

    static func kcat(_ arguments: [String], input: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/kcat")
        process.arguments = arguments
        let stdin = Pipe()
        process.standardInput = stdin
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "kcat \(arguments) failed")
    }

    static func produce(_ cluster: KafkaMockCluster, steps: Range<Int>) throws {
        for partition in 0..<partitions {
            try kcat(
                ["-b", cluster.bootstrapServers, "-P", "-t", "events", "-p", "\(partition)"],
                input: events(partition: partition, steps: steps).joined(separator: "\n") + "\n"
            )
        }
    }

    static func start(_ cluster: KafkaMockCluster, _ directory: String, log: String) throws -> Process {
        let process = Process()
        process.executableURL = products.appendingPathComponent("kafka-scale-out")
        process.arguments = [
            cluster.bootstrapServers, "events", "minute-sums", directory + "/checkpoints", directory + "/output",
        ]
        FileManager.default.createFile(atPath: log, contents: nil)
        let handle = FileHandle(forWritingAtPath: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        return process
    }

    static func count(_ text: String, in log: String) -> Int {
        ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").components(separatedBy: text).count - 1
    }

    static func outputs(_ directory: String) -> Set<String> {
        let folder = directory + "/output"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return Set(
            names.filter { $0.hasSuffix(".csv") }.flatMap { name in
                ((try? String(contentsOfFile: "\(folder)/\(name)", encoding: .utf8)) ?? "")
                    .split(separator: "\n").map(String.init)
            }
        )
    }

    static func waitUntil(_ what: String, timeout: Double = 60, _ condition: () -> Bool) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition() {
            guard Date() < deadline else {
                Issue.record("\(what): not within \(timeout) s")
                throw CancellationError()
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    @Test(.timeLimit(.minutes(4)))
    func twoProcessesSplitThePartitionsAndOneTakesOverAfterSIGKILL() async throws {
        let directory = NSTemporaryDirectory() + "scale-out-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cluster = try KafkaMockCluster()
        try cluster.createTopic("events", partitions: Int(Self.partitions))
        try Self.produce(cluster, steps: 0..<200)

        let logA = directory + "/a.log"
        let logB = directory + "/b.log"
        let a = try Self.start(cluster, directory, log: logA)
        defer { kill(a.processIdentifier, SIGKILL) }
        try await Self.waitUntil("A is assigned partitions") { Self.count("partitions assigned", in: logA) >= 1 }
        let b = try Self.start(cluster, directory, log: logB)
        defer { kill(b.processIdentifier, SIGKILL) }
        // B joins: the group rebalances and the two split the partitions.
        try await Self.waitUntil("B is assigned partitions") { Self.count("partitions assigned", in: logB) >= 1 }
        try await Self.waitUntil("A is reassigned") { Self.count("partitions assigned", in: logA) >= 2 }
        try await Task.sleep(for: .seconds(2))
        try Self.produce(cluster, steps: 200..<400)
        try await Task.sleep(for: .seconds(2))

        // A dies without a word; after the session timeout the group gives its partitions to B.
        kill(a.processIdentifier, SIGKILL)
        a.waitUntilExit()
        try Self.produce(cluster, steps: 400..<Self.steps)
        // A last event per partition, far later, closes every window of the input.
        for partition in 0..<Self.partitions {
            try Self.kcat(
                ["-b", cluster.bootstrapServers, "-P", "-t", "events", "-p", "\(partition)"],
                input: "end,\(Self.base + 100_000),0\n"
            )
        }
        let expected = Self.expected()
        try await Self.waitUntil("B has every window", timeout: 120) {
            Self.outputs(directory).isSuperset(of: expected)
        }
        try await Task.sleep(for: .seconds(1))
        let union = Self.outputs(directory)
        #expect(
            union == expected,
            "missing \(expected.subtracting(union).count), extra \(union.subtracting(expected).sorted().prefix(5))"
        )
        #expect(Self.count("partitions assigned", in: logB) >= 2, "B took partitions over")
        // B restored A's partitions from their checkpoints (and its own after the rebalance),
        // rather than reading them again from the start.
        let restored = (0..<Self.partitions).filter { partition in
            ((try? String(contentsOfFile: logB, encoding: .utf8)) ?? "").split(separator: "\n").contains {
                $0.contains("restoring from checkpoint") && $0.contains("minute-sums-events-\(partition)")
            }
        }
        #expect(restored.count == Int(Self.partitions), "B restored \(restored) from checkpoints")
    }
}

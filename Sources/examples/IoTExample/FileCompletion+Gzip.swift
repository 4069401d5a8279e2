import CompressNIO
import NIOCore
import StreamKit

extension FileCompletion {
    /// Gzip, with compress-nio (zlib), compressed as the file is written: files end in `.gz` and
    /// Spark, Trino and DuckDB read them as they are.
    ///
    /// The level is zlib's fastest, 1, by default: on the readings archive level 1 compresses about
    /// 110 MB/s against 44 MB/s for zlib's default 6, for files about 16% larger (a ratio of 5.5
    /// instead of 6.6), and the compression runs on the pipeline's task.
    public static func gzip(level: Int32 = 1) -> FileCompletion {
        FileCompletion(fileExtension: "gz") { try GzipFileEncoder(level: level) }
    }
}

/// One gzip stream per file, fed batch by batch.
final class GzipFileEncoder: FileEncoder {
    private let compressor: ZlibCompressor

    init(level: Int32) throws {
        compressor = try ZlibCompressor(algorithm: .gzip, configuration: .init(compressionLevel: level))
    }

    func encode(_ bytes: [UInt8]) throws -> [UInt8] {
        guard !bytes.isEmpty else { return [] }
        var input = ByteBuffer(bytes: bytes)
        return try deflate(&input, flush: .no, capacity: compressor.maxSize(from: input))
    }

    func finish() throws -> [UInt8] {
        var input = ByteBuffer()
        return try deflate(&input, flush: .finish, capacity: 64 << 10)
    }

    /// Deflates all of `input`, growing the output until zlib has room for everything (with
    /// `.finish`: until the stream's end is written).
    private func deflate(_ input: inout ByteBuffer, flush: CompressNIOFlush, capacity: Int) throws -> [UInt8] {
        var output = ByteBuffer()
        output.reserveCapacity(capacity)
        while true {
            do {
                try compressor.deflate(from: &input, to: &output, flush: flush)
                if flush == .finish || input.readableBytes == 0 { return Array(output.readableBytesView) }
            } catch let error as CompressNIOError where error == .bufferOverflow {
                // No room left in the output: grow it and go on.
            }
            output.reserveCapacity(minimumWritableBytes: Swift.max(64 << 10, output.capacity))
        }
    }
}

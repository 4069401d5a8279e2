import CompressNIO
import NIOCore
import StreamKit

extension FileCompletion {
    /// Gzip, with compress-nio (zlib): files end in `.gz` and Spark, Trino and DuckDB read them as
    /// they are.
    public static let gzip = FileCompletion(fileExtension: "gz") { bytes in
        var buffer = ByteBuffer(bytes: bytes)
        let compressed = try buffer.compress(with: .gzip())
        return Array(compressed.readableBytesView)
    }
}

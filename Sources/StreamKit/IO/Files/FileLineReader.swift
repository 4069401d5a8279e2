#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads a file line by line in large blocks, and knows the byte offset and number of each line:
/// what the file sources report in error records and record as their position in checkpoints.
///
/// Lines end with `\n`; a `\r` before it is dropped. The last line needs no newline. A line is
/// handed out as a pointer into the block it was read into, valid until the next call: reading a
/// file copies nothing per line. A class, so that the block is freed and the file closed once, when
/// the reader that owns it goes away.
final class FileLineReader {
    /// The file's path.
    let path: String
    private let descriptor: Int32
    /// The block: `capacity` bytes, of which `start..<end` are read and not yet handed out.
    private var block: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var start = 0
    private var end = 0
    private var atEnd = false
    /// The byte offset of the next line to return.
    private(set) var offset: Int64
    /// The number of the next line to return, from 1.
    private(set) var lineNumber: Int

    /// How much is read at a time: large enough that a `read` call costs nothing per line.
    static let blockSize = 1 << 20

    /// Opens `path`, positioned at `offset` (0: the start), whose line number is `lineNumber`.
    /// - Throws: ``StreamKitError`` with code ``StreamKitError/Code/io`` naming the file and the
    ///   system's reason.
    init(path: String, offset: Int64 = 0, lineNumber: Int = 1) throws {
        self.path = path
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else {
            throw StreamKitError(
                code: .io,
                message:
                    "cannot open '\(path)': \(String(cString: strerror(errno))); check the path and its permissions"
            )
        }
        if offset > 0 { lseek(descriptor, off_t(offset), SEEK_SET) }
        self.descriptor = descriptor
        self.offset = offset
        self.lineNumber = lineNumber
        self.capacity = Self.blockSize
        self.block = .allocate(capacity: Self.blockSize)
    }

    deinit {
        block.deallocate()
        _ = close(descriptor)
    }

    /// Moves to byte `offset`, whose line number is `lineNumber`.
    func seek(offset: Int64, lineNumber: Int) {
        lseek(descriptor, off_t(offset), SEEK_SET)
        start = 0
        end = 0
        atEnd = false
        self.offset = offset
        self.lineNumber = lineNumber
    }

    /// The next line's bytes (without the line ending) and its number, or `nil` at the end of the
    /// file. The bytes are valid until the next call.
    func nextLine() throws -> (line: UnsafeBufferPointer<UInt8>, number: Int)? {
        while true {
            if start < end, let found = memchr(block + start, Int32(UInt8(ascii: "\n")), end - start) {
                let newline = block.distance(to: found.assumingMemoryBound(to: UInt8.self))
                return take(upTo: newline, next: newline + 1)
            }
            if atEnd {
                guard start < end else { return nil }
                return take(upTo: end, next: end)
            }
            try fill()
        }
    }

    /// Hands out `start..<lineEnd` (less a final `\r`) and moves on to `next`.
    private func take(upTo lineEnd: Int, next: Int) -> (line: UnsafeBufferPointer<UInt8>, number: Int) {
        let lineStart = start
        start = next
        offset += Int64(next - lineStart)
        let number = lineNumber
        lineNumber += 1
        var last = lineEnd
        if last > lineStart && block[last - 1] == UInt8(ascii: "\r") { last -= 1 }
        return (UnsafeBufferPointer(start: block + lineStart, count: last - lineStart), number)
    }

    /// Reads the next block behind the bytes not yet handed out, growing the block when one line
    /// fills it.
    private func fill() throws {
        if start > 0 {
            if end > start { memmove(block, block + start, end - start) }
            end -= start
            start = 0
        }
        if end == capacity {
            let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity * 2)
            grown.initialize(from: block, count: end)
            block.deallocate()
            block = grown
            capacity *= 2
        }
        let count = read(descriptor, block + end, capacity - end)
        if count < 0 {
            throw StreamKitError(code: .io, message: "cannot read '\(path)': \(String(cString: strerror(errno)))")
        }
        end += count
        if count == 0 { atEnd = true }
    }
}

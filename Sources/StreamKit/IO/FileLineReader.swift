#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads a file line by line in large blocks, and knows the byte offset and number of each line:
/// what the file sources report in error records and record as their position in checkpoints.
///
/// Lines end with `\n`; a `\r` before it is dropped. The last line needs no newline.
struct FileLineReader {
    /// The file's path.
    let path: String
    private let descriptor: Int32
    private var buffer: [UInt8] = []
    private var start = 0
    private var atEnd = false
    /// The byte offset of the next line to return.
    private(set) var offset: Int64
    /// The number of the next line to return, from 1.
    private(set) var lineNumber: Int

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
    }

    /// Moves to byte `offset`, whose line number is `lineNumber`.
    mutating func seek(offset: Int64, lineNumber: Int) {
        lseek(descriptor, off_t(offset), SEEK_SET)
        buffer.removeAll()
        start = 0
        atEnd = false
        self.offset = offset
        self.lineNumber = lineNumber
    }

    /// Closes the file.
    func close() {
        _ = Glibc.close(descriptor)
    }

    /// Calls `body` with the next line's bytes (without the line ending), its number, and returns
    /// `false` at the end of the file.
    mutating func nextLine<R>(_ body: (UnsafeBufferPointer<UInt8>, Int) throws -> R) throws -> R? {
        while true {
            if let newline = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                let lineStart = start
                start = newline + 1
                offset += Int64(newline + 1 - lineStart)
                let number = lineNumber
                lineNumber += 1
                var end = newline
                if end > lineStart && buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                return try buffer.withUnsafeBufferPointer {
                    try body(UnsafeBufferPointer(rebasing: $0[lineStart..<end]), number)
                }
            }
            if atEnd {
                guard start < buffer.count else { return nil }
                let lineStart = start
                start = buffer.count
                offset += Int64(buffer.count - lineStart)
                let number = lineNumber
                lineNumber += 1
                var end = buffer.count
                if buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                return try buffer.withUnsafeBufferPointer {
                    try body(UnsafeBufferPointer(rebasing: $0[lineStart..<end]), number)
                }
            }
            try fill()
        }
    }

    private mutating func fill() throws {
        if start > 0 {
            buffer.removeFirst(start)
            start = 0
        }
        let chunk = 1 << 20
        let old = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: chunk))
        let count = buffer.withUnsafeMutableBufferPointer { read(descriptor, $0.baseAddress! + old, chunk) }
        if count < 0 {
            throw StreamKitError(code: .io, message: "cannot read '\(path)': \(String(cString: strerror(errno)))")
        }
        buffer.removeLast(chunk - count)
        if count == 0 { atEnd = true }
    }
}

import Foundation

/// A fast path for the common payload: `{"time_stamp":"…","data":[numbers]}` with nothing else.
///
/// `JSONDecoder` spends about 100 µs on a payload of 100 numbers, which would cap the dropzone
/// far below its target rate; this scanner reads such a payload in a few microseconds. It accepts
/// only what it can read exactly as `JSONDecoder` does: one object whose keys are `time_stamp` and
/// `data`, once each; a time stamp of printable ASCII without escapes; a non-empty array of JSON
/// numbers that convert to finite doubles. Anything else (other keys, escapes, errors of any kind)
/// returns `nil`, and the caller decodes with `JSONDecoder`, which gives the authoritative answer
/// and the precise reason. A test checks both paths agree on generated payloads.
struct PayloadScanner {
    /// The time stamp's text and the values, or `nil` when the payload needs the full decoder.
    static func scan(_ body: UnsafeBufferPointer<UInt8>) -> (timeStamp: String, data: [Double])? {
        var scanner = PayloadScanner(bytes: body)
        return scanner.scanObject()
    }

    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    private mutating func expect(_ byte: UInt8) -> Bool {
        skipWhitespace()
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    /// A string of printable ASCII without escapes; returns its range.
    private mutating func scanPlainString() -> Range<Int>? {
        guard expect(UInt8(ascii: "\"")) else { return nil }
        let start = index
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                return start..<(index - 1)
            }
            guard byte >= 0x20, byte < 0x7F, byte != UInt8(ascii: "\\") else { return nil }
            index += 1
        }
        return nil
    }

    private func equals(_ range: Range<Int>, _ text: StaticString) -> Bool {
        guard range.count == text.utf8CodeUnitCount else { return false }
        for offset in 0..<range.count where bytes[range.lowerBound + offset] != text.utf8Start[offset] {
            return false
        }
        return true
    }

    private mutating func scanObject() -> (timeStamp: String, data: [Double])? {
        guard expect(UInt8(ascii: "{")) else { return nil }
        var timeStamp: String?
        var data: [Double]?
        repeat {
            guard let key = scanPlainString(), expect(UInt8(ascii: ":")) else { return nil }
            if equals(key, "time_stamp"), timeStamp == nil {
                guard let value = scanPlainString() else { return nil }
                timeStamp = String(decoding: UnsafeBufferPointer(rebasing: bytes[value]), as: UTF8.self)
            } else if equals(key, "data"), data == nil {
                guard let values = scanNumbers() else { return nil }
                data = values
            } else {
                return nil
            }
        } while expect(UInt8(ascii: ","))
        guard expect(UInt8(ascii: "}")) else { return nil }
        skipWhitespace()
        guard index == bytes.count, let timeStamp, let data else { return nil }
        return (timeStamp, data)
    }

    /// A non-empty array of JSON numbers, each a finite double.
    private mutating func scanNumbers() -> [Double]? {
        guard expect(UInt8(ascii: "[")) else { return nil }
        var values: [Double] = []
        values.reserveCapacity(128)
        repeat {
            skipWhitespace()
            guard let value = scanNumber() else { return nil }
            values.append(value)
        } while expect(UInt8(ascii: ","))
        guard expect(UInt8(ascii: "]")) else { return nil }
        return values
    }

    /// A number in the JSON grammar, converted with `strtod` (correctly rounded, as Swift's own
    /// conversion); `nil` when it is malformed or out of range.
    private mutating func scanNumber() -> Double? {
        let start = index
        func digit(_ at: Int) -> Bool { at < bytes.count && bytes[at] &- UInt8(ascii: "0") < 10 }
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard digit(index) else { return nil }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else {
            while digit(index) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard digit(index) else { return nil }
            while digit(index) { index += 1 }
        }
        if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "e") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            guard digit(index) else { return nil }
            while digit(index) { index += 1 }
        }
        let length = index - start
        guard length < 64 else { return nil }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: length + 1) { text -> Double? in
            for offset in 0..<length { text[offset] = CChar(bitPattern: bytes[start + offset]) }
            text[length] = 0
            errno = 0
            var end: UnsafeMutablePointer<CChar>?
            let value = strtod(text.baseAddress!, &end)
            // The whole token must be read (a locale with a decimal comma would stop at the point).
            guard errno == 0, value.isFinite, end == text.baseAddress! + length else { return nil }
            return value
        }
    }
}

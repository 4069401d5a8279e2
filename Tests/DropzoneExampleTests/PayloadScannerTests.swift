import Foundation
import StreamKitHTTP
import Testing

@testable import DropzoneExample

/// The fast path for common payloads must answer exactly as `JSONDecoder` does.
@Suite struct PayloadScannerTests {
    /// A deterministic generator (SplitMix64), so that a failure can be replayed.
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    static func number(_ random: inout Generator) -> String {
        switch random.below(6) {
        case 0: return String(random.below(2000) - 1000)
        case 1: return String(Double(random.below(1_000_000)) / 997 - 500)
        case 2: return "\(random.below(10)).\(random.below(100_000))e\(random.below(40) - 20)"
        case 3: return "-0.\(random.below(1000))E+\(random.below(5))"
        case 4: return String(Double(bitPattern: random.next() & 0x7FEF_FFFF_FFFF_FFFF))
        default: return "\(random.below(100))"
        }
    }

    static func payload(_ random: inout Generator) -> [UInt8] {
        let space = [" ", "", "\n", "\t "][random.below(4)]
        let values = (0..<(1 + random.below(20))).map { _ in number(&random) }
        let stamp = [
            "2019-05-01T06:00:00-04:00", "2024-02-29T23:59:59.5Z", "2019-05-01T06:00:00", "2019-13-01T00:00Z",
        ][
            random.below(4)
        ]
        let parts = [
            #""time_stamp"\#(space):\#(space)"\#(stamp)""#,
            #""data":\#(space)[\#(values.joined(separator: ",\(space)"))]"#,
        ]
        var text = "{\(space)" + (random.below(2) == 0 ? parts : parts.reversed()).joined(separator: ",") + "\(space)}"
        var bytes = Array(text.utf8)
        // Now and then, damage it: the fast path must then agree with the full decoder's refusal.
        switch random.below(5) {
        case 0: bytes.remove(at: random.below(bytes.count))
        case 1:
            bytes.insert(
                [UInt8(ascii: ","), UInt8(ascii: "\""), UInt8(ascii: "x"), 0x5C, 0xC3][random.below(5)],
                at: random.below(bytes.count)
            )
        case 2:
            text = text.replacingOccurrences(of: "\"data\"", with: "\"data\":[1],\"data\"")
            bytes = Array(text.utf8)
        default: break
        }
        return bytes
    }

    @Test func theFastPathAndJSONDecoderAgreeOnGeneratedPayloads() {
        var random = Generator(state: 20_261_129)
        var fast = 0
        for _ in 0..<5000 {
            let body = Self.payload(&random)
            let expected = Result { () throws(IngestRejection) in try DropzoneMeasurement.parse(body, fastPath: false) }
            let actual = Result { () throws(IngestRejection) in try DropzoneMeasurement.parse(body, fastPath: true) }
            if body.withUnsafeBufferPointer(PayloadScanner.scan) != nil { fast += 1 }
            // JSONDecoder refuses some valid JSON numbers ("-0.0E+4", a negative zero with a fraction
            // and an exponent); where JSONSerialization reads the body, the fast path may too.
            if case .failure(let refusal) = expected, refusal.reason.hasPrefix("invalid JSON"),
                (try? JSONSerialization.jsonObject(with: Data(body))) != nil
            {
                if case .failure(let other) = actual { #expect(!other.reason.hasPrefix("invalid JSON")) }
                continue
            }
            switch (expected, actual) {
            case (.success(let a), .success(let b)):
                #expect(
                    a.utc == b.utc && a.timeStamp == b.timeStamp && a.data == b.data,
                    "\(String(decoding: body, as: UTF8.self))"
                )
            case (.failure(let a), .failure(let b)):
                #expect(a == b, "\(String(decoding: body, as: UTF8.self))")
            default:
                Issue.record("paths disagree on \(String(decoding: body, as: UTF8.self)): \(expected) vs \(actual)")
            }
        }
        // Most generated payloads are well formed and must take the fast path.
        #expect(fast > 2000)
    }
}

import Foundation
import PropertyBased
import StreamKit
import Testing

/// ``FlatJSONDecoder`` against Foundation's `JSONDecoder`: the same values for the same payloads,
/// and errors that say what is wrong and where.
@Suite struct FlatJSONDecoderTests {
    /// The IoT reading the decoder is made for.
    struct Reading: Codable, Equatable, Sendable {
        var id: String
        var dt: Timestamp
        var value: Int
    }

    /// A record with every kind of field the decoder supports.
    struct Record: Codable, Equatable, Sendable {
        var name: String
        var count: Int
        var ratio: Double
        var flag: Bool
        var note: String?
        var small: Int8?
        var big: UInt64
        var single: Float
        var time: Timestamp
        var unit: Unit
        var sensor: SensorID
        var optionalTime: Timestamp?
    }

    enum Unit: String, Codable, Sendable { case celsius, fahrenheit }

    /// A type that decodes itself from a single value, as many wrapper types do.
    struct SensorID: Codable, Equatable, Sendable {
        var raw: String
        init(raw: String) { self.raw = raw }
        init(from decoder: any Decoder) throws { raw = try decoder.singleValueContainer().decode(String.self) }
        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(raw)
        }
    }

    /// Decodes `json` with both decoders and expects the same value.
    @discardableResult
    func expectSameAsFoundation<T: Decodable & Equatable>(
        _ type: T.Type,
        _ json: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> T {
        let expected = try JSONDecoder().decode(T.self, from: Data(json.utf8))
        let actual = try FlatJSONDecoder().decode(T.self, from: Array(json.utf8))
        #expect(actual == expected, "payload: \(json)", sourceLocation: sourceLocation)
        return actual
    }

    /// Decodes `json` and returns the `DecodingError` it throws.
    func decodingError<T: Decodable>(_ type: T.Type, _ json: String) -> DecodingError? {
        do {
            _ = try FlatJSONDecoder().decode(T.self, from: Array(json.utf8))
            Issue.record("\(json) decoded")
            return nil
        } catch let error as DecodingError {
            return error
        } catch {
            Issue.record("\(json) threw \(error), not a DecodingError")
            return nil
        }
    }

    func debugDescription(_ error: DecodingError?) -> String {
        switch error {
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .keyNotFound(_, let context),
            .dataCorrupted(let context):
            context.debugDescription
        default: ""
        }
    }

    func codingPath(_ error: DecodingError?) -> [String] {
        switch error {
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .keyNotFound(_, let context),
            .dataCorrupted(let context):
            context.codingPath.map(\.stringValue)
        default: []
        }
    }

    // MARK: Same values as JSONDecoder

    @Test func decodesTheIoTReading() throws {
        let reading = try expectSameAsFoundation(
            Reading.self,
            #"{"id":"Sensor 1","dt":"2024-01-01T00:00:00.123456","value":42}"#
        )
        #expect(reading == Reading(id: "Sensor 1", dt: try Timestamp(iso8601: "2024-01-01T00:00:00.123456"), value: 42))
    }

    @Test(arguments: [
        // Whitespace everywhere, keys in another order, unknown keys of every kind.
        #" { "value" : -7 ,"extra":[1,{"a":[true,null]},"x"], "dt":"2024-02-29 23:59:59Z","id":"S" } "#,
        "\n\t{\"id\":\"S\",\r\n\"dt\":\"2024-01-01T00:00:00\",\"value\":0,\"nested\":{\"deep\":{\"deeper\":[]}}}\n",
        // Escapes in values and keys, and a byte order mark.
        #"{"\u0069d":"caf\u00e9 \"quoted\" \\ \/ \b\f\n\r\t \ud83d\ude00","dt":"2024-01-01T00:00:00","value":1}"#,
        "\u{FEFF}{\"id\":\"Zürich 東京 😀\",\"dt\":\"2024-01-01T00:00:00\",\"value\":1}",
        // A timestamp in microseconds, with an offset, and a duplicated key (the first counts).
        #"{"id":"S","dt":1704067200123456,"value":1}"#,
        #"{"id":"S","dt":"2024-01-01T01:00:00+01:00","value":1}"#,
        #"{"id":"first","id":"second","dt":"2024-01-01T00:00:00","value":1}"#,
        // Whole numbers written with a fraction or an exponent.
        #"{"id":"S","dt":"2024-01-01T00:00:00","value":4.2e1}"#,
        #"{"id":"S","dt":"2024-01-01T00:00:00","value":-0}"#,
    ])
    func decodesReadingsLikeFoundation(json: String) throws {
        try expectSameAsFoundation(Reading.self, json)
    }

    @Test func decodesEveryKindOfFieldLikeFoundation() throws {
        let json = #"""
            {"name":"n","count":-12,"ratio":-1.5e-3,"flag":true,"note":null,"small":-128,"big":18446744073709551615,
             "single":0.1,"time":"1969-12-31T23:59:59.5Z","unit":"celsius","sensor":"S-1","optionalTime":null}
            """#
        let record = try expectSameAsFoundation(Record.self, json)
        #expect(record.note == nil && record.small == -128 && record.big == .max && record.optionalTime == nil)

        let present = #"""
            {"name":"","count":0,"ratio":1E+2,"flag":false,"note":"x","big":0,"single":-3.4e38,
             "time":0,"unit":"fahrenheit","sensor":"","optionalTime":"2024-01-01T00:00:00.1"}
            """#
        let other = try expectSameAsFoundation(Record.self, present)
        #expect(other.note == "x" && other.small == nil && other.ratio == 100)
    }

    @Test func decodesFoundationTypesAsJSONDecoderDoes() throws {
        struct Types: Codable, Equatable {
            var date: Date
            var url: URL
            var data: Data
            var decimal: Decimal
            var optionalURL: URL?
        }
        try expectSameAsFoundation(
            Types.self,
            #"{"date":725846400.5,"url":"https://example.com/a?b=c","data":"AAEC/w==","decimal":12.345,"optionalURL":null}"#
        )
    }

    @Test func decodesADictionaryFromTheObject() throws {
        try expectSameAsFoundation([String: Double].self, #"{"a":1,"b":-2.5,"c\n":3e3}"#)
        try expectSameAsFoundation([String: String?].self, #"{"a":"x","b":null}"#)
    }

    @Test func acceptsEveryKindOfInputCollection() throws {
        let json = #"{"id":"S","dt":"2024-01-01T00:00:00","value":1}"#
        let bytes = Array(json.utf8)
        let decoder = FlatJSONDecoder()
        let expected = try decoder.decode(Reading.self, from: bytes)
        #expect(try decoder.decode(Reading.self, from: Data(bytes)) == expected)
        #expect(try decoder.decode(Reading.self, from: ([0x20] + bytes + [0x20])[1...bytes.count]) == expected)
        #expect(try decoder.decode(Reading.self, from: bytes.lazy.map { $0 }) == expected)
        #expect(try bytes.withUnsafeBytes { try decoder.decode(Reading.self, from: $0) } == expected)
    }

    @Test func decodesManyFieldsBeyondTheStackTable() throws {
        let keys = (0..<100).map { "k\($0)" }
        let json = "{" + keys.enumerated().map { "\"\($1)\":\($0)" }.joined(separator: ",") + "}"
        let decoded = try expectSameAsFoundation([String: Int].self, json)
        #expect(decoded.count == 100 && decoded["k99"] == 99)
    }

    // MARK: Errors

    @Test func aMissingKeyIsNamed() {
        let error = decodingError(Reading.self, #"{"id":"S","value":1}"#)
        guard case .keyNotFound(let key, _) = error else {
            Issue.record("expected keyNotFound, got \(String(describing: error))")
            return
        }
        #expect(key.stringValue == "dt")
        #expect(debugDescription(error).contains("\"dt\""))
    }

    @Test func aWrongTypeNamesTheFieldAndWhatWasFound() {
        let error = decodingError(Reading.self, #"{"id":"S","dt":"2024-01-01T00:00:00","value":"42"}"#)
        guard case .typeMismatch(let type, _) = error else {
            Issue.record("expected typeMismatch, got \(String(describing: error))")
            return
        }
        #expect(ObjectIdentifier(type) == ObjectIdentifier(Int.self))
        #expect(codingPath(error) == ["value"])
        #expect(debugDescription(error) == #"Expected to decode Int but found string "42" instead."#)

        let bool = decodingError(Reading.self, #"{"id":true,"dt":"2024-01-01T00:00:00","value":1}"#)
        #expect(debugDescription(bool) == "Expected to decode String but found bool true instead.")
    }

    @Test func nullForANonOptionalIsValueNotFound() {
        let error = decodingError(Reading.self, #"{"id":null,"dt":"2024-01-01T00:00:00","value":1}"#)
        guard case .valueNotFound(let type, _) = error else {
            Issue.record("expected valueNotFound, got \(String(describing: error))")
            return
        }
        #expect(ObjectIdentifier(type) == ObjectIdentifier(String.self))
        #expect(codingPath(error) == ["id"])
    }

    @Test func aNestedValueAskedForSaysToUseJSONDecoder() {
        let error = decodingError(Reading.self, #"{"id":{"name":"S"},"dt":"2024-01-01T00:00:00","value":1}"#)
        #expect(codingPath(error) == ["id"])
        #expect(debugDescription(error).contains("nested object"))
        #expect(debugDescription(error).contains("JSONDecoder"))

        struct WithArray: Decodable { var values: [Int] }
        let array = decodingError(WithArray.self, #"{"values":[1,2]}"#)
        #expect(codingPath(array) == ["values"])
        #expect(debugDescription(array).contains("an array"))
    }

    @Test func anInvalidTimestampSaysWhy() {
        let error = decodingError(Reading.self, #"{"id":"S","dt":"2024-02-30T00:00:00","value":1}"#)
        guard case .dataCorrupted = error else {
            Issue.record("expected dataCorrupted, got \(String(describing: error))")
            return
        }
        #expect(codingPath(error) == ["dt"])
        #expect(debugDescription(error).contains("a day that exists in 2024-02"))
    }

    @Test func numbersThatDoNotFitAreRejected() {
        struct Small: Decodable { var value: Int8 }
        #expect(debugDescription(decodingError(Small.self, #"{"value":128}"#)) == "Number 128 does not fit in Int8.")
        #expect(debugDescription(decodingError(Small.self, #"{"value":1.5}"#)) == "Number 1.5 does not fit in Int8.")
        struct Unsigned: Decodable { var value: UInt }
        #expect(debugDescription(decodingError(Unsigned.self, #"{"value":-1}"#)) == "Number -1 does not fit in UInt.")
        struct Huge: Decodable { var value: Double }
        #expect(debugDescription(decodingError(Huge.self, #"{"value":1e400}"#)).contains("not representable"))
    }

    @Test(
        arguments: [
            ("", 0, "expected a JSON object, found an empty payload"),
            ("   ", 3, "expected a JSON object, found the end of the payload"),
            (#"{"id":"S""#, 9, "expected ',' or '}' after the value of \"id\", found the end of the payload"),
            (#"{"id" "S"}"#, 6, "expected ':' after the key \"id\", found '\"'"),
            (#"{"id":"S",}"#, 10, "expected a key in double quotes, found '}'"),
            (#"{id:1}"#, 1, "expected a key in double quotes, found 'i'"),
            (#"{"id":01}"#, 7, "a number may not start with 0"),
            (#"{"id":1.}"#, 8, "expected a digit after '.'"),
            (#"{"id":-}"#, 7, "expected a digit"),
            (#"{"id":1e}"#, 8, "expected a digit in the exponent"),
            (#"{"id":tru}"#, 6, "expected true"),
            (#"{"id":"a\qb"}"#, 8, "invalid escape"),
            (#"{"id":"\u12G4"}"#, 11, "expected four hex digits after \\u"),
            (#"{"id":"\ud800"}"#, 13, "low surrogate after a high surrogate"),
            (#"{"id":"\udc00"}"#, 7, "a low surrogate without a high surrogate"),
            (#"{"id":"abc}"#, 6, "unterminated string"),
            ("{\"id\":\"a\tb\"}", 8, "control character in a string"),
            (#"{"id":1} x"#, 9, "expected the end of the payload after the object, found 'x'"),
            (#"{"id":1}}"#, 8, "expected the end of the payload after the object"),
            (#"{"id":[1,}"#, 9, "expected a value"),
            (#"{"id":{"a" 1}}"#, 11, "expected ':' after a key"),
        ] as [(String, Int, String)]
    )
    func malformedJSONIsReportedWithItsByteOffset(json: String, offset: Int, message: String) {
        let error = decodingError([String: Int].self, json)
        guard case .dataCorrupted(let context) = error else {
            Issue.record("expected dataCorrupted for \(json), got \(String(describing: error))")
            return
        }
        #expect(context.codingPath.isEmpty)
        #expect(
            context.debugDescription.hasPrefix("Malformed JSON at byte offset \(offset): "),
            "\(context.debugDescription)"
        )
        #expect(context.debugDescription.contains(message), "\(context.debugDescription)")
        #expect(throws: (any Error).self) { try JSONDecoder().decode([String: Int].self, from: Data(json.utf8)) }
    }

    @Test func invalidUTF8IsMalformed() {
        let bytes: [UInt8] = Array(#"{"id":"ab"#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)
        do {
            _ = try FlatJSONDecoder().decode([String: String].self, from: bytes)
            Issue.record("invalid UTF-8 decoded")
        } catch {
            #expect("\(error)".contains("Malformed JSON at byte offset 9: invalid UTF-8 in a string"))
        }
    }

    @Test func skippedValuesMayNotNestWithoutLimit() {
        let deep = #"{"a":"# + String(repeating: "[", count: 600) + String(repeating: "]", count: 600) + "}"
        #expect(debugDescription(decodingError([String: Int].self, deep)).contains("nested more than 512 deep"))
    }

    @Test func aPayloadThatIsNotAnObjectIsATypeMismatch() {
        let error = decodingError(Reading.self, "[1, 2]")
        guard case .typeMismatch = error else {
            Issue.record("expected typeMismatch, got \(String(describing: error))")
            return
        }
        #expect(debugDescription(error).contains("found an array"))
        #expect(debugDescription(error).contains("one JSON object per payload"))
    }

    // MARK: Properties

    /// Random payloads of ``Record``, written with random whitespace, key order, escapes and extra
    /// keys: both decoders read the same values.
    @Test func randomRecordsDecodeLikeFoundation() async {
        await propertyCheck(count: 300, input: Gen.uint64(in: 0...UInt64.max)) { seed in
            var random = Random(seed: seed)
            let json = Self.randomRecordJSON(&random)
            do {
                let expected = try JSONDecoder().decode(Record.self, from: Data(json.utf8))
                let actual = try FlatJSONDecoder().decode(Record.self, from: Array(json.utf8))
                #expect(actual == expected, "payload: \(json)")
                #expect(actual.ratio.bitPattern == expected.ratio.bitPattern, "payload: \(json)")
            } catch {
                Issue.record("\(error) for payload \(json)")
            }
        }
    }

    /// Doubles written in every JSON form decode to the correctly rounded value, as the standard
    /// library's parser reads them.
    @Test func randomNumbersDecodeExactly() async {
        struct Value: Decodable { var v: Double }
        await propertyCheck(count: 2000, input: Gen.uint64(in: 0...UInt64.max)) { seed in
            var random = Random(seed: seed)
            let text = Self.randomNumberText(&random)
            do {
                let actual = try FlatJSONDecoder().decode(Value.self, from: Array("{\"v\":\(text)}".utf8)).v
                let expected = Double(text)!
                #expect(actual.bitPattern == expected.bitPattern, "\(text): \(actual) != \(expected)")
            } catch {
                Issue.record("\(error) for \(text)")
            }
        }
    }

    /// Timestamps in the layouts the fast path reads (and some it hands on) decode as
    /// `Timestamp(iso8601:)` parses them, or fail as it fails.
    @Test func randomTimestampsDecodeAsTimestampParsesThem() async {
        struct Value: Decodable { var t: Timestamp }
        await propertyCheck(count: 2000, input: Gen.uint64(in: 0...UInt64.max)) { seed in
            var random = Random(seed: seed)
            let text = Self.randomTimestampText(&random)
            let expected = try? Timestamp(iso8601: text)
            let actual = try? FlatJSONDecoder().decode(Value.self, from: Array("{\"t\":\"\(text)\"}".utf8)).t
            #expect(actual == expected, "\(text)")
        }
    }

    // MARK: Generators

    /// SplitMix64, so that every seed gives the same payload.
    struct Random {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
        mutating func chance(_ oneIn: Int) -> Bool { below(oneIn) == 0 }
    }

    static func whitespace(_ random: inout Random) -> String {
        random.chance(2) ? "" : String((0..<random.below(3)).map { _ in [" ", "\t", "\n", "\r"][random.below(4)] })
    }

    static func randomString(_ random: inout Random) -> String {
        let pools: [ClosedRange<UInt32>] = [
            0x20...0x7E, 0x20...0x7E, 0x00...0x1F, 0x22...0x22, 0x5C...0x5C, 0xA0...0x2FF, 0x4E00...0x4FFF,
            0x1F600...0x1F64F, 0x2028...0x2029,
        ]
        var scalars = String.UnicodeScalarView()
        for _ in 0..<random.below(12) {
            let pool = pools[random.below(pools.count)]
            let value = pool.lowerBound + UInt32(random.below(Int(pool.upperBound - pool.lowerBound) + 1))
            scalars.append(Unicode.Scalar(value)!)
        }
        return String(scalars)
    }

    /// `text` as a JSON string, each character escaped in one of the ways JSON allows, at random.
    static func quoted(_ text: String, _ random: inout Random) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            let mustEscape = scalar.value < 0x20 || scalar == "\"" || scalar == "\\"
            if mustEscape || random.chance(4) {
                switch scalar {
                case "\"" where random.chance(2): out += "\\\""
                case "\\" where random.chance(2): out += "\\\\"
                case "\n" where random.chance(2): out += "\\n"
                case "\t" where random.chance(2): out += "\\t"
                case "/" where random.chance(2): out += "\\/"
                default:
                    for unit in String(scalar).utf16 {
                        let hex = String(unit, radix: 16, uppercase: random.chance(2))
                        out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                    }
                }
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    static func randomNumberText(_ random: inout Random) -> String {
        switch random.below(5) {
        case 0: return String(Int64(bitPattern: random.next()) >> random.below(64))
        case 1:
            var value = Double(bitPattern: random.next())
            while !value.isFinite { value = Double(bitPattern: random.next()) }
            return "\(value)"
        case 2: return String(format: "%.\(random.below(20))g", Double(random.below(1_000_000)) / 997)
        case 3:
            let mantissa = String(random.next() % 100_000_000_000)
            let exponent = random.below(60) - 30
            return (random.chance(2) ? "-" : "") + mantissa + (random.chance(2) ? "e" : "E")
                + (exponent >= 0 && random.chance(2) ? "+" : "") + String(exponent)
        default:
            let whole = String(random.below(1_000_000))
            let fraction = String((0..<(1 + random.below(24))).map { _ in Character(String(random.below(10))) })
            return whole + "." + fraction
        }
    }

    static func randomTimestampText(_ random: inout Random) -> String {
        // Any instant from year 1 to 9999, in microseconds.
        let micros = Int64(random.next() % 315_537_897_600_000_000) - 62_135_596_800_000_000
        var text = Timestamp(microseconds: micros).iso8601
        text.removeLast()  // the Z
        var characters = Array(text)
        switch random.below(8) {
        case 0: characters[10] = " "
        case 1: characters.removeLast(random.below(8))  // a shorter fraction, or none, or a broken one
        case 2: characters += Array(String(random.below(1000)))  // more digits
        case 3: characters[5...6] = ["1", "3"]  // month 13
        case 4: characters[8...9] = ["3", "1"]  // the 31st, not in every month
        case 5: characters[17...18] = ["6", random.chance(2) ? "0" : "1"]  // second 60 or 61
        case 6: characters[11...12] = ["2", "4"]  // hour 24
        default: break
        }
        text = String(characters)
        switch random.below(4) {
        case 0: text += "Z"
        case 1: text += "z"
        case 2: text += random.chance(2) ? "+02:00" : "-0530"
        default: break
        }
        return text
    }

    static func randomRecordJSON(_ random: inout Random) -> String {
        let time = Timestamp(microseconds: Int64(random.next() % 4_000_000_000_000_000))
        var fields: [(String, String)] = [
            ("name", quoted(randomString(&random), &random)),
            ("count", String(Int64(bitPattern: random.next()) >> random.below(64))),
            ("ratio", randomNumberText(&random)),
            ("flag", random.chance(2) ? "true" : "false"),
            ("big", String(random.next() >> random.below(64))),
            ("single", String(Float(random.below(2_000_000)) / 1024)),
            ("time", random.chance(4) ? String(time.microseconds) : quoted(time.iso8601, &random)),
            ("unit", quoted(random.chance(2) ? "celsius" : "fahrenheit", &random)),
            ("sensor", quoted(randomString(&random), &random)),
        ]
        if random.chance(2) {
            fields.append(("note", random.chance(2) ? "null" : quoted(randomString(&random), &random)))
        }
        if random.chance(2) { fields.append(("small", random.chance(3) ? "null" : String(random.below(256) - 128))) }
        if random.chance(2) {
            fields.append(("optionalTime", random.chance(2) ? "null" : quoted(time.iso8601, &random)))
        }
        for extra in 0..<random.below(4) {
            let values = [
                "null", "[1,{\"a\":[]},\"x\"]", "{\"k\":{\"l\":null}}", "-1.5e3",
                quoted(randomString(&random), &random),
            ]
            fields.append(("extra\(extra)", values[random.below(values.count)]))
        }
        // Shuffle with the seeded generator, so that the payload depends on the seed alone.
        for index in fields.indices.reversed() where index > 0 { fields.swapAt(index, random.below(index + 1)) }
        let members = fields.map { key, value in
            whitespace(&random) + quoted(key, &random) + whitespace(&random) + ":" + whitespace(&random) + value
                + whitespace(&random)
        }
        return whitespace(&random) + "{" + members.joined(separator: ",") + "}" + whitespace(&random)
    }
}

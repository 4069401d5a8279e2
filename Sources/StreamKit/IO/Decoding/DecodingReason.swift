extension ErrorRecord {
    /// The reason an error record gives for `error`: what was wrong and where in the record
    /// (`missing field 'dt'`, `column 3 'value': expected a finite number, found 'abc'`), as the
    /// file sources and decoding sources say it. For connectors that decode in place.
    public static func reason(for error: any Error) -> String { describe(error) }
}

/// A short reason for a decoding failure: what was wrong, and where in the record.
func describe(_ error: any Error) -> String {
    if let error = error as? CSVFieldError { return error.description }
    guard let error = error as? DecodingError else { return "\(error)" }
    func path(_ context: DecodingError.Context) -> String {
        let path = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        return path.isEmpty ? "" : " at '\(path)'"
    }
    switch error {
    case .keyNotFound(let key, let context):
        return "missing field '\(key.stringValue)'\(path(context))"
    case .typeMismatch(let type, let context):
        return "expected \(type)\(path(context)): \(context.debugDescription)"
    case .valueNotFound(let type, let context):
        return "missing value of type \(type)\(path(context))"
    case .dataCorrupted(let context):
        return "invalid data\(path(context)): \(context.debugDescription)"
    @unknown default:
        return "\(error)"
    }
}

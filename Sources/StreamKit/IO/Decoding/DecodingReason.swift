/// A short reason for a decoding failure: what was wrong, and where in the record.
func describe(_ error: any Error) -> String {
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

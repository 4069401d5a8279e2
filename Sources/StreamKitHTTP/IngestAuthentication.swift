import HTTPTypes

/// Who may post to an ``HTTPIngest``: bearer tokens (`Authorization: Bearer <token>`) and API keys
/// (in a header, `X-API-Key` by default).
///
/// A request without a known token or key is answered 401 with a message that says which headers
/// are accepted. Configure at least one token or key, or say explicitly that the endpoint is open:
///
/// ```swift
/// let authentication = IngestAuthentication(bearerTokens: ["s3cret"])
/// ```
public struct IngestAuthentication: Sendable, Hashable {
    /// Accepted bearer tokens.
    public var bearerTokens: Set<String>
    /// Accepted API keys.
    public var apiKeys: Set<String>
    /// The header that carries an API key.
    public var apiKeyHeader: String
    /// Whether requests without credentials are accepted.
    public var isOpen: Bool

    /// Accepts the given bearer tokens and API keys.
    public init(bearerTokens: Set<String> = [], apiKeys: Set<String> = [], apiKeyHeader: String = "X-API-Key") {
        self.bearerTokens = bearerTokens
        self.apiKeys = apiKeys
        self.apiKeyHeader = apiKeyHeader
        self.isOpen = false
    }

    /// Accepts every request: for a trusted network only.
    public static var open: IngestAuthentication {
        var authentication = IngestAuthentication()
        authentication.isOpen = true
        return authentication
    }

    /// Checks a request's headers; returns why they are refused, or `nil` when they are accepted.
    public func refusal(_ headers: HTTPFields) -> String? {
        if isOpen { return nil }
        if let authorization = headers[.authorization] {
            let prefix = "bearer "
            guard authorization.count > prefix.count, authorization.lowercased().hasPrefix(prefix) else {
                return "the Authorization header must read 'Bearer <token>'"
            }
            let token = String(authorization.dropFirst(prefix.count)).trimmingSpaces()
            return bearerTokens.contains(token) ? nil : "unknown bearer token"
        }
        if let name = HTTPField.Name(apiKeyHeader), let key = headers[name] {
            return apiKeys.contains(key) ? nil : "unknown API key in \(apiKeyHeader)"
        }
        var accepted: [String] = []
        if !bearerTokens.isEmpty { accepted.append("'Authorization: Bearer <token>'") }
        if !apiKeys.isEmpty { accepted.append("'\(apiKeyHeader): <key>'") }
        if accepted.isEmpty { return "no credentials are configured on this endpoint" }
        return "missing credentials: send \(accepted.joined(separator: " or "))"
    }
}

extension String {
    fileprivate func trimmingSpaces() -> String {
        var text = Substring(self)
        while text.first == " " { text.removeFirst() }
        while text.last == " " { text.removeLast() }
        return String(text)
    }
}

import Crypto
import HTTPTypes

/// Who may call an endpoint: bearer tokens (`Authorization: Bearer <token>`) and API keys (in a
/// header, `X-API-Key` by default). ``HTTPIngest`` checks it on every post; an API can check the
/// same (or another) value on its reads.
///
/// A request without a known token or key is answered 401 with a message that says which headers
/// are accepted. Configure at least one token or key, or say explicitly that the endpoint is open:
///
/// ```swift
/// let authentication = IngestAuthentication(bearerTokens: ["s3cret"])
/// ```
///
/// Tokens and keys are compared in constant time: the SHA-256 digests of the candidate and of
/// every configured value are compared byte by byte without stopping at the first difference, so
/// that neither the position of a wrong byte nor the length of a token shows in the answer time.
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
            return Self.contains(bearerTokens, token) ? nil : "unknown bearer token"
        }
        if let name = HTTPField.Name(apiKeyHeader), let key = headers[name] {
            return Self.contains(apiKeys, key) ? nil : "unknown API key in \(apiKeyHeader)"
        }
        var accepted: [String] = []
        if !bearerTokens.isEmpty { accepted.append("'Authorization: Bearer <token>'") }
        if !apiKeys.isEmpty { accepted.append("'\(apiKeyHeader): <key>'") }
        if accepted.isEmpty { return "no credentials are configured on this endpoint" }
        return "missing credentials: send \(accepted.joined(separator: " or "))"
    }

    /// Whether `candidate` is one of `secrets`, in a time that depends only on how many secrets
    /// there are: every secret is compared, and each comparison reads all 32 bytes of two digests.
    static func contains(_ secrets: Set<String>, _ candidate: String) -> Bool {
        let digest = Array(SHA256.hash(data: Array(candidate.utf8)))
        var found: UInt8 = 0
        for secret in secrets {
            let expected = Array(SHA256.hash(data: Array(secret.utf8)))
            var difference: UInt8 = 0
            for index in 0..<digest.count { difference |= digest[index] ^ expected[index] }
            found |= difference == 0 ? 1 : 0
        }
        return found == 1
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

import Hummingbird
import Logging

/// Makes every error answer of the API a JSON `{"error": "..."}` with a status the OpenAPI
/// document lists:
///
/// - a path the API serves, asked with a method it does not serve: 405 with `Allow` naming the
///   methods it does serve (the router alone answers 404);
/// - a path it does not serve: 404;
/// - an error a handler throws that is not an ``APIError`` (a Hummingbird `HTTPError`, say): its
///   status, with its message or the status's reason phrase;
/// - any other error (the database failed): 500 with the error's description, logged; never an
///   empty body.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The paths the API serves (`{name}` stands for one path segment) and their methods.
    let routes: [(path: String, methods: [HTTPRequest.Method])]
    let logger: Logger

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let error as HTTPError {
            if error.status == .notFound, let allowed = allowedMethods(request.uri.path),
                !allowed.contains(request.method)
            {
                let names = allowed.map(\.rawValue).joined(separator: ", ")
                throw APIError(
                    .methodNotAllowed,
                    "\(request.method.rawValue) is not served on \(request.uri.path): use \(names)",
                    headers: [.allow: names]
                )
            }
            if error.status == .notFound {
                throw APIError(.notFound, "no such path: \(request.uri.path) (see /openapi.json)")
            }
            throw APIError(error.status, error.body ?? error.status.reasonPhrase, headers: error.headers)
        } catch let error as any HTTPResponseError {
            throw APIError(error.status, "\(error)")
        } catch {
            logger.error("\(request.method) \(request.uri.path) failed: \(error)")
            throw APIError(.internalServerError, "internal error: \(error)")
        }
    }

    /// The methods served on `path`, or `nil` when no route matches it.
    func allowedMethods(_ path: String) -> [HTTPRequest.Method]? {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        for route in routes {
            let pattern = route.path.split(separator: "/", omittingEmptySubsequences: false)
            guard pattern.count == segments.count else { continue }
            let matches = zip(pattern, segments).allSatisfy { expected, actual in
                expected.hasPrefix("{") ? !actual.isEmpty : expected == actual
            }
            if matches { return route.methods }
        }
        return nil
    }
}

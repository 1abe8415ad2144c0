import Dispatch
import HTTPTypes
import Hummingbird
import Metrics
import Synchronization

/// Request counts, errors and durations by route, method and status, under the names of
/// Hummingbird's `MetricsMiddleware` (`hb_requests`, `hb_request_errors`,
/// `http_server_request_duration`, `http_server_active_requests`).
///
/// Recorded when the handler returns its response, not after the body is written: Hummingbird's
/// middleware wraps every body in a closure to time the write, which turns each answer into a
/// streamed one, written head and body in two `write`s instead of one (a tenth of a `GET`'s CPU,
/// docs/benchmarks.md "HTTP API"). A streamed answer (`follow`) is therefore timed to its start.
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    private let metrics = RequestMetrics()

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = DispatchTime.now().uptimeNanoseconds
        let active = metrics.active(request.method)
        active.increment()
        defer { active.decrement() }
        do {
            let response = try await next(request, context)
            let route = metrics.route(RequestMetrics.Route(path: context.endpointPath ?? "Unknown", method: request.method, status: response.status))
            route.requests.increment()
            route.duration.recordNanoseconds(DispatchTime.now().uptimeNanoseconds - start)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status ?? .internalServerError
            let route = metrics.route(RequestMetrics.Route(path: context.endpointPath ?? "NotFound", method: request.method, status: status))
            route.requests.increment()
            route.errors.increment()
            throw error
        }
    }
}

/// The metric objects of each method and route met so far: making one asks the metrics factory,
/// which costs far more than counting.
final class RequestMetrics: Sendable {
    struct Route: Hashable {
        var path: String
        var method: HTTPRequest.Method
        var status: HTTPResponse.Status
    }

    struct RouteMetrics: Sendable {
        let requests: Counter
        let errors: Counter
        let duration: Timer

        init(_ route: Route) {
            let dimensions = [
                ("http.route", route.path), ("http.request.method", route.method.rawValue),
                ("http.response.status_code", String(route.status.code)),
            ]
            requests = Counter(label: "hb.requests", dimensions: dimensions)
            duration = Timer(label: "http.server.request.duration", dimensions: dimensions, preferredDisplayUnit: .seconds)
            errors = Counter(
                label: "hb.request.errors",
                dimensions: [("http.route", route.path), ("http.request.method", route.method.rawValue), ("error.type", String(route.status.code))]
            )
        }
    }

    private let routes = Mutex<[Route: RouteMetrics]>([:])
    private let methods = Mutex<[HTTPRequest.Method: Meter]>([:])

    func route(_ route: Route) -> RouteMetrics {
        routes.withLock { known in
            if let metrics = known[route] { return metrics }
            let metrics = RouteMetrics(route)
            known[route] = metrics
            return metrics
        }
    }

    func active(_ method: HTTPRequest.Method) -> Meter {
        methods.withLock { known in
            if let meter = known[method] { return meter }
            let meter = Meter(label: "http.server.active_requests", dimensions: [("http.request.method", method.rawValue)])
            known[method] = meter
            return meter
        }
    }
}

import BerthAPI
import BerthStore
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// How the web UI runs: how long a sign-in lasts, and whether cookies are `Secure` (under TLS).
public struct WebUIConfiguration: Sendable {
    public var sessionLifetime: TimeInterval
    public var secureCookies: Bool

    public init(sessionLifetime: TimeInterval = 8 * 3600, secureCookies: Bool = false) {
        self.sessionLifetime = sessionLifetime
        self.secureCookies = secureCookies
    }
}

/// The web UI at `/ui/`: server-rendered pages over the API's own functions and authorization,
/// signed in with an API token into a store-backed session.
public enum WebUI {
    /// Adds the UI's routes to the API's router (``APIServer/router(_:routes:)``).
    public static func register(on router: Router<APIRequestContext>, dependencies: APIDependencies, configuration: WebUIConfiguration) {
        let routes = UIRoutes(dependencies: dependencies, configuration: configuration)
        let open = router.group("ui").add(middleware: ErrorPages())
        open.get("signin", use: routes.signInForm)
        open.post("signin", use: routes.signIn)
        open.get("assets/berth.css") { request, _ in Asset.css.response(request) }
        open.get("assets/berth.js") { request, _ in Asset.javaScript.response(request) }
        // The session first, so that an error page of a signed-in caller has the navigation.
        let pages = router.group("ui").add(middleware: SessionCheck(store: dependencies.store)).add(middleware: ErrorPages())
        pages.post("signout", use: routes.signOut)
        pages.get("", use: routes.overview)
        pages.get("services/{project}/{name}", use: routes.service)
        pages.get("plan", use: routes.plan)
        pages.get("jobs", use: routes.jobs)
        pages.get("jobs/{id}", use: routes.job)
        pages.post("jobs/{id}/cancel", use: routes.cancel)
        pages.get("jobs/{id}/logs/live", use: routes.liveLogs)
        pages.get("cronjobs", use: routes.cronJobs)
        pages.get("events", use: routes.events)
        pages.get("certificates", use: routes.certificates)
        pages.get("nodes", use: routes.nodes)
        pages.get("live", use: routes.live)
        // Any other path under /ui/: signed out it is a redirect like every page, signed in a 404 page.
        pages.on("**", method: .get) { request, _ -> Response in throw APIError.notFound("no page \(request.uri.path)") }
    }
}

/// The cookies of the UI.
enum UICookie {
    static let session = "berth_session"
    static let signInCSRF = "berth_signin_csrf"
}

/// Lets a request with a valid session through, with its token and session in the context (the
/// same token record the API's bearer check yields); anything else is sent to the sign-in page,
/// learning nothing.
struct SessionCheck: RouterMiddleware {
    let store: any Store

    func handle(_ request: Request, context: APIRequestContext, next: (Request, APIRequestContext) async throws -> Response) async throws -> Response {
        guard let secret = request.cookies[UICookie.session]?.value, !secret.isEmpty,
            let (session, token) = try await store.uiSession(secret: secret, now: Date()), token.jobID == nil
        else {
            return Response.redirect(to: "/ui/signin", type: .normal)
        }
        var context = context
        context.token = token
        context.session = session
        return try await next(request, context)
    }
}

/// Answers every error of a UI route as an HTML page with its status (403, 404, …), the API's
/// message in `p.error[role=alert]`, with the navigation when signed in; unexpected ones as 500, logged.
struct ErrorPages: RouterMiddleware {
    func handle(_ request: Request, context: APIRequestContext, next: (Request, APIRequestContext) async throws -> Response) async throws -> Response {
        let error: APIError
        do {
            return try await next(request, context)
        } catch let thrown as APIError {
            error = thrown
        } catch let thrown as StoreError {
            error = APIError.store(thrown)
        } catch let thrown as HTTPError {
            error = ErrorMiddleware<APIRequestContext>.translate(thrown, request)
        } catch {
            context.logger.error("UI request failed: \(error)", metadata: ["berth.path": "\(request.uri.path)"])
            return UIRoutes.page(Self.page(title: "Error", message: "the request failed inside the server; see its log", context), status: .internalServerError)
        }
        let title =
            switch error.status {
            case .forbidden: "Forbidden"
            case .notFound: "Not found"
            case .badRequest, .unprocessableContent: "Bad request"
            default: error.status.reasonPhrase
            }
        return UIRoutes.page(Self.page(title: title, message: error.message, context), status: error.status)
    }

    private static func page(title: String, message: String, _ context: APIRequestContext) -> HTML {
        guard let session = context.session else { return Layout.error(title: title, message: message) }
        let body: HTML = "<h1>\(title)</h1><p class=\"error\" role=\"alert\">\(message)</p>"
        return Layout.page(title: title, section: nil, context: PageContext(csrf: session.csrf, now: Date()), live: "", body: body)
    }
}

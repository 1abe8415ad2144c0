import BerthCore
import BerthStore
import Foundation
import HTTPTypes
import Hummingbird

/// Per-request state: Hummingbird's core, plus the caller's token once authenticated.
public struct APIRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The token the request carried; set by ``Authenticator`` on every `/v1` route, and by the
    /// web UI's session check on its pages.
    package var token: TokenRecord?
    /// The web UI's session the request came with (its CSRF value), on the UI's pages.
    package var session: UISession?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }
}

/// What a route needs of the caller's token.
package enum Permission: Sendable {
    /// List and show jobs, read their logs.
    case readJobs
    /// Submit jobs as Job documents.
    case writeJobs
    /// Submit jobs from JobTemplates.
    case submitTemplateJobs
    /// Cancel jobs.
    case cancelJobs
    /// List and show desired resources.
    case readResources
    /// Apply and delete desired resources.
    case writeResources
    /// Plan, status, events, metrics.
    case readState
    /// A worker reporting on its own job.
    case reportProgress
    /// Cordon, uncordon, drain and remove nodes: the operator's alone (`admin`).
    case manageNodes

    /// The scopes that grant it; `admin` grants everything.
    var scopes: Set<TokenScope> {
        switch self {
        case .readJobs: [.read, .jobsWrite, .job, .jobsSubmitTemplate]
        case .writeJobs: [.jobsWrite]
        case .submitTemplateJobs: [.jobsWrite, .jobsSubmitTemplate]
        case .cancelJobs: [.jobsWrite, .jobsSubmitTemplate]
        case .readResources: [.read, .resourcesWrite]
        case .writeResources: [.resourcesWrite]
        case .readState: [.read]
        case .reportProgress: [.jobsWrite, .job]
        case .manageNodes: []
        }
    }
}

extension APIRequestContext {
    /// The caller's token; every `/v1` route runs behind ``Authenticator``, so it is there.
    package func caller() throws(APIError) -> TokenRecord {
        guard let token else { throw APIError.unauthorized }
        return token
    }

    /// The one project the caller may act on, or nil for all.
    package func projectLimit() throws(APIError) -> String? {
        try caller().project
    }

    /// Throws 403 unless the token grants `permission` on `project` (nil: on every project, as a
    /// list without a project filter or the plan needs). A worker's token grants nothing here:
    /// it may only touch its own job, through ``authorize(_:job:)``.
    package func authorize(_ permission: Permission, project: String?) throws(APIError) {
        let token = try caller()
        guard token.jobID == nil, Self.grants(token, permission) else {
            throw APIError.forbidden("the token \"\(token.name)\" does not allow this (scopes: \(token.scopes.map(\.rawValue).sorted().joined(separator: ", ")))")
        }
        if let limit = token.project, limit != project {
            throw APIError.forbidden("the token \"\(token.name)\" is limited to project \(limit)")
        }
    }

    /// Throws 403 unless the token may submit Job documents to `project`; a token limited to
    /// templates is told so, by its scope.
    func authorizeJobDocument(project: String) throws(APIError) {
        let token = try caller()
        if !Self.grants(token, .writeJobs), token.scopes.contains(.jobsSubmitTemplate) {
            throw APIError.forbidden(
                "the token \"\(token.name)\" has the scope \(TokenScope.jobsSubmitTemplate): it submits jobs from templates ({\"template\": NAME, …}), not Job documents")
        }
        try authorize(.writeJobs, project: project)
    }

    /// Throws 403 unless the caller holds `admin`: `what` is the operator's to do.
    func requireAdmin(_ what: String) throws(APIError) {
        let token = try caller()
        guard Self.isAdmin(token) else {
            throw APIError.forbidden("\(what) needs a token with the admin scope; the token \"\(token.name)\" has \(token.scopes.map(\.rawValue).sorted().joined(separator: ", "))")
        }
    }

    /// How a project's policy sees the caller: an admin token is the operator's, any other an API writer's.
    func policyWriter() throws(APIError) -> PolicyWriter {
        Self.isAdmin(try caller()) ? .admin : .api
    }

    /// Throws 403 unless the token grants `permission` on this job; a missing job is 404 only for
    /// a caller who could see it were it there (no project limit), so a limited token learns
    /// nothing about other projects' jobs.
    package func authorize(_ permission: Permission, job id: String, _ job: JobRecord?) throws(APIError) -> JobRecord {
        let token = try caller()
        let denied = APIError.forbidden("the token \"\(token.name)\" may not act on job \(id)")
        if let jobID = token.jobID {
            guard jobID == id, Self.grants(token, permission), let job else { throw denied }
            return job
        }
        guard Self.grants(token, permission) else { throw denied }
        if let limit = token.project {
            guard let job, job.project == limit else { throw denied }
            return job
        }
        guard let job else { throw APIError.notFound("no job \(id)") }
        return job
    }

    static func grants(_ token: TokenRecord, _ permission: Permission) -> Bool {
        isAdmin(token) || !permission.scopes.isDisjoint(with: token.scopes)
    }

    /// The operator's token: `admin`, and not a worker's (a job token never grants more than its job).
    private static func isAdmin(_ token: TokenRecord) -> Bool {
        token.jobID == nil && token.scopes.contains(.admin)
    }
}

/// Reads `Authorization: Bearer <token>` and looks the token up; 401 without a valid one. The
/// store compares hashes, never the secret, so lookups take the same time whatever the token.
struct Authenticator: RouterMiddleware {
    let store: any TokenStore

    func handle(_ request: Request, context: APIRequestContext, next: (Request, APIRequestContext) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization] else { throw APIError.unauthorized }
        guard let secret = Self.bearerToken(header) else {
            throw APIError(.unauthorized, code: "unauthorized", message: "the Authorization header must be \"Bearer <token>\"", field: "Authorization")
        }
        guard let token = try await store.authenticate(token: String(secret), now: Date()) else {
            throw APIError(.unauthorized, code: "unauthorized", message: "the token is unknown, revoked or expired")
        }
        var context = context
        context.token = token
        return try await next(request, context)
    }

    /// The token of a `Bearer <token>` header value: the scheme in any case, blanks around the
    /// token ignored; nil for another scheme or no token. Runs on every request, so it works on
    /// the UTF-8 view (Foundation's `trimmingCharacters` was 4 % of a GET).
    static func bearerToken(_ header: String) -> Substring? {
        let isBlank = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        let bytes = header.utf8
        guard let space = bytes.firstIndex(of: UInt8(ascii: " ")),
            bytes[..<space].elementsEqual("bearer".utf8, by: { $0 | 0x20 == $1 }),
            let first = bytes[space...].firstIndex(where: { !isBlank($0) }),
            let last = bytes.lastIndex(where: { !isBlank($0) })
        else { return nil }
        return header[first...last]
    }
}

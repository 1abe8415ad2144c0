import BerthAPI
import BerthController
import BerthCore
import BerthStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The UI's handlers: each authorizes exactly as the API route with the same data does, reads
/// through the API's own functions, and renders a page.
struct UIRoutes: Sendable {
    let dependencies: APIDependencies
    let configuration: WebUIConfiguration
    private var store: any Store { dependencies.store }

    /// The largest form body taken.
    static let formLimit = 16 << 10

    // MARK: Sign-in and sign-out

    /// The form, with a fresh double-submit CSRF value (in a cookie and the form); a visitor with
    /// a valid session goes on to the overview.
    @Sendable func signInForm(_ request: Request, context: APIRequestContext) async throws -> Response {
        if let secret = request.cookies[UICookie.session]?.value, !secret.isEmpty, try await store.uiSession(secret: secret, now: Date()) != nil {
            return Response.redirect(to: "/ui/", type: .normal)
        }
        return signInPage(error: nil, status: .ok)
    }

    /// `token` + `csrf`: a valid token (not a worker's) makes a session, whose secret goes in an
    /// HttpOnly, SameSite=Strict cookie; a bad token gets the form again with a 401.
    @Sendable func signIn(_ request: Request, context: APIRequestContext) async throws -> Response {
        let form = try await Self.form(request)
        guard let expected = request.cookies[UICookie.signInCSRF]?.value, let given = form["csrf"], ConstantTime.equal(expected.utf8, given.utf8) else {
            throw APIError.forbidden("the sign-in form expired or came from elsewhere; load the sign-in page again")
        }
        let now = Date()
        guard let secret = form["token"]?.trimmingCharacters(in: .whitespacesAndNewlines), !secret.isEmpty,
            let token = try await store.authenticate(token: secret, now: now), token.jobID == nil
        else {
            return signInPage(error: "The token is unknown, revoked or expired.", status: .unauthorized)
        }
        let lifetime = min(configuration.sessionLifetime, token.expiresAt.map { $0.timeIntervalSince(now) } ?? .infinity)
        let (sessionSecret, _) = try await store.createUISession(tokenID: token.id, lifetime: lifetime, now: now)
        var response = Response.redirect(to: "/ui/", type: .normal)
        response.setCookie(cookie(UICookie.session, sessionSecret, maxAge: Int(lifetime.rounded(.down))))
        response.setCookie(cookie(UICookie.signInCSRF, "", maxAge: 0))
        return response
    }

    /// Ends the session (a POST with its CSRF value) and clears its cookie.
    @Sendable func signOut(_ request: Request, context: APIRequestContext) async throws -> Response {
        let session = try await Self.checkCSRF(request, context)
        try await store.revokeUISession(session.id, now: Date())
        var response = Response.redirect(to: "/ui/signin", type: .normal)
        response.setCookie(cookie(UICookie.session, "", maxAge: 0))
        return response
    }

    private func signInPage(error: String?, status: HTTPResponse.Status) -> Response {
        let csrf = TokenSecret.generate()
        var response = Self.page(SignInPage.render(csrf: csrf, error: error), status: status)
        response.setCookie(cookie(UICookie.signInCSRF, csrf, maxAge: 3600))
        return response
    }

    private func cookie(_ name: String, _ value: String, maxAge: Int) -> Cookie {
        Cookie(name: name, value: value, maxAge: maxAge, path: "/ui", secure: configuration.secureCookies, httpOnly: true, sameSite: .strict)
    }

    // MARK: Pages

    /// A token that may read jobs but not the state (an application's `jobs:write`) is sent on to
    /// the jobs list, the one page it may see.
    @Sendable func overview(_ request: Request, context: APIRequestContext) async throws -> Response {
        let project = try Self.project(request, context)
        if (try? context.authorize(.readState, project: project)) == nil, (try? context.authorize(.readJobs, project: project)) != nil {
            return Response.redirect(to: "/ui/jobs", type: .normal)
        }
        try context.authorize(.readState, project: project)
        let status = try await ControlRoutes.statusList(project: project, context: context, dependencies: dependencies)
        return Self.page(OverviewPage.render(status, project: project, context: try Self.pageContext(context)))
    }

    @Sendable func service(_ request: Request, context: APIRequestContext) async throws -> Response {
        let project = try RequestParameters.name(try context.parameters.require("project"), "project")
        let name = try RequestParameters.name(try context.parameters.require("name"), "name")
        try context.authorize(.readState, project: project)
        let id = ResourceID(kind: .service, project: project, name: name)
        let status = try await store.status(id)
        let snapshot = try? await dependencies.source.load()
        let resource = snapshot?.state.resources.first { $0.id == id }
        guard status != nil || resource != nil else { throw APIError.notFound("no service \(name) in project \(project)") }
        var spec: ServiceSpec?
        if case .service(let declared) = resource?.spec { spec = declared }
        var query = EventQuery(resource: id, limit: 50)
        query.newestFirst = true
        let events = try await store.events(query)
        let plan = await currentPlan().map { $0.actions.filter { $0.resource == id } }
        return Self.page(ServicePage.render(id, spec: spec, status: status, events: events, plan: plan, context: try Self.pageContext(context)))
    }

    /// The plan of every project the caller may see: all, or the one it is limited to.
    @Sendable func plan(_ request: Request, context: APIRequestContext) async throws -> Response {
        let project = try Self.project(request, context)
        try context.authorize(.readState, project: project)
        return Self.page(PlanPage.render(await currentPlan(), project: project, context: try Self.pageContext(context)))
    }

    @Sendable func jobs(_ request: Request, context: APIRequestContext) async throws -> Response {
        let project = try Self.project(request, context)
        try context.authorize(.readJobs, project: project)
        let form = JobFilterForm(
            project: project, state: Self.value(request, "state"), label: Self.value(request, "label"), after: Self.value(request, "after"), before: Self.value(request, "before"),
            cursor: Self.value(request, "cursor"))
        var filter = JobFilter(project: project)
        if let text = form.state { filter.states = [try RequestParameters.jobState(text)] }
        if let text = form.label {
            filter.labels = try RequestParameters.labels(text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        }
        filter.submittedAfter = try form.after.map { text throws(APIError) in try Self.time(text, "after") }
        filter.submittedBefore = try form.before.map { text throws(APIError) in try Self.time(text, "before") }
        let page = try await store.jobs(filter: filter, page: PageRequest(limit: 50, cursor: form.cursor))
        return Self.page(JobsPage.render(page, filter: form, context: try Self.pageContext(context)))
    }

    @Sendable func job(_ request: Request, context: APIRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        let found = try await store.job(id, events: 1000)
        let job = try context.authorize(.readJobs, job: id, found?.job)
        let mayCancel = (try? context.authorize(.cancelJobs, job: id, job)) != nil
        let logs = try await JobRoutes(dependencies: dependencies).currentLogs(job, tail: JobLogsView.defaultTail)
        return Self.page(JobPage.render(job, events: found?.events ?? [], logs: logs, mayCancel: mayCancel, context: try Self.pageContext(context)))
    }

    /// Cancels the job (the API's own check: 403 without the permission), then back to its page.
    @Sendable func cancel(_ request: Request, context: APIRequestContext) async throws -> Response {
        _ = try await Self.checkCSRF(request, context)
        let id = try context.parameters.require("id")
        _ = try await JobRoutes.cancel(id, context: context, store: store)
        return Response.redirect(to: "/ui/jobs/\(id)", type: .normal)
    }

    @Sendable func cronJobs(_ request: Request, context: APIRequestContext) async throws -> Response {
        let project = try Self.project(request, context)
        try context.authorize(.readState, project: project)
        let status = try await ControlRoutes.statusList(project: project, context: context, dependencies: dependencies)
        return Self.page(CronJobsPage.render(status.cronJobs, project: project, context: try Self.pageContext(context)))
    }

    @Sendable func events(_ request: Request, context: APIRequestContext) async throws -> Response {
        let project = try Self.project(request, context)
        try context.authorize(.readState, project: project)
        let form = EventFilterForm(project: project, kind: Self.value(request, "kind"), name: Self.value(request, "name"))
        var query = EventQuery(project: project, limit: 200)
        query.newestFirst = true
        if let kindText = form.kind {
            guard let kind = ResourceRoutes.kind(kindText) else { throw APIError.badParameter("kind", "unknown kind \"\(kindText)\"") }
            guard let name = form.name else { throw APIError.badParameter("name", "filter by resource with kind and name together, e.g. kind=service&name=web") }
            query.resource = ResourceID(kind: kind, project: project ?? ResourceID.defaultProject, name: try RequestParameters.name(name, "name"))
        }
        return Self.page(EventsPage.render(try await store.events(query), filter: form, context: try Self.pageContext(context)))
    }

    @Sendable func certificates(_ request: Request, context: APIRequestContext) async throws -> Response {
        let project = try Self.project(request, context)
        try context.authorize(.readState, project: project)
        var statuses: [ResourceID: ResourceStatus] = [:]
        for status in try await store.statuses(project: project) where status.id.kind == .certificate { statuses[status.id] = status }
        var entries: [CertificatesPage.Entry] = []
        for resource in (try? await dependencies.source.load())?.state.resources ?? [] where project == nil || resource.id.project == project {
            guard case .certificate(let spec) = resource.spec else { continue }
            entries.append(CertificatesPage.Entry(id: resource.id, spec: spec, status: statuses[resource.id]))
        }
        return Self.page(CertificatesPage.render(entries, project: project, context: try Self.pageContext(context)))
    }

    /// Nodes serve every project: a project-limited token gets 403, as `GET /v1/nodes` answers it.
    @Sendable func nodes(_ request: Request, context: APIRequestContext) async throws -> Response {
        try context.authorize(.readState, project: nil)
        return Self.page(NodesPage.render(try await store.nodes().map(NodeView.init), context: try Self.pageContext(context)))
    }

    // MARK: Live streams

    /// `?project=` or `?job=`: the events from now on as server-sent events (the API's follow),
    /// for berth.js to refresh the page on; for a project (or all), also `changed` when a status
    /// changed without an event (a service became healthy).
    @Sendable func live(_ request: Request, context: APIRequestContext) async throws -> Response {
        var query = EventQuery(limit: 100)
        var watch: StatusWatch?
        if let jobID = Self.value(request, "job") {
            _ = try context.authorize(.readJobs, job: jobID, try await store.job(jobID))
            query.jobID = jobID
        } else {
            query.project = try Self.project(request, context)
            try context.authorize(.readState, project: query.project)
            watch = StatusWatch(store: store, project: query.project)
        }
        if let resume = request.headers[ServerSentEvents.lastEventID].flatMap({ Int64($0) }) {
            query.afterSequence = resume
        } else {
            var newest = query
            newest.limit = 1
            newest.newestFirst = true
            query.afterSequence = try await store.events(newest).first?.sequence ?? 0
        }
        var changed: (@Sendable () async throws -> Bool)?
        if let watch { changed = { try await watch.changed() } }
        let slot = try dependencies.followers.take(try context.caller(), displaceable: true)
        return ControlRoutes.follow(query, store: store, slot: slot, changed: changed)
    }

    /// The job's output as the API's log follow streams it.
    @Sendable func liveLogs(_ request: Request, context: APIRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        let job = try context.authorize(.readJobs, job: id, try await store.job(id))
        return try JobRoutes(dependencies: dependencies).followLogs(job, tail: JobLogsView.defaultTail, caller: try context.caller(), displaceable: true)
    }

    // MARK: Helpers

    /// The plan now, or why there is none (an engine or desired state that cannot be read).
    private func currentPlan() async -> Result<Plan, PlanUnavailable> {
        do {
            return .success(try await ControlRoutes.currentPlan(dependencies))
        } catch let error as APIError {
            return .failure(PlanUnavailable(error.message))
        } catch {
            return .failure(PlanUnavailable("\(error)"))
        }
    }

    static func page(_ html: HTML, status: HTTPResponse.Status = .ok) -> Response {
        let headers: HTTPFields = [
            .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
            .contentSecurityPolicy: "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
            HTTPField.Name("X-Content-Type-Options")!: "nosniff", HTTPField.Name("Referrer-Policy")!: "same-origin",
        ]
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: html.text)))
    }

    static func pageContext(_ context: APIRequestContext) throws(APIError) -> PageContext {
        guard let session = context.session else { throw APIError.unauthorized }
        return PageContext(csrf: session.csrf, now: Date())
    }

    /// A query value; an empty one (a form's blank field) is no value.
    static func value(_ request: Request, _ name: String) -> String? {
        guard let value = request.uri.queryParameters.get(name), !value.isEmpty else { return nil }
        return value
    }

    /// The project to show: the one asked for (a blank field is none), else the caller's limit.
    static func project(_ request: Request, _ context: APIRequestContext) throws(APIError) -> String? {
        if let text = value(request, "project") { return try RequestParameters.name(text, "project") }
        return try context.projectLimit()
    }

    /// `2026-12-07T10:30` (a `datetime-local` field, taken as UTC) or a full ISO 8601 time.
    static func time(_ text: String, _ field: String) throws(APIError) -> Date {
        let full = text.count == 16 ? text + ":00Z" : text.count == 19 ? text + "Z" : text
        guard let date = try? Date(full, strategy: .iso8601) else {
            throw APIError.badParameter(field, "\(field) is a time like 2026-12-07T10:30 (UTC) or 2026-12-07T10:30:00Z, not \"\(text)\"")
        }
        return date
    }

    /// The fields of a form body (`application/x-www-form-urlencoded`).
    static func form(_ request: Request) async throws -> [String: String] {
        let body = try await request.body.collect(upTo: formLimit)
        do {
            return try URLEncodedFormDecoder().decode([String: String].self, from: String(buffer: body))
        } catch {
            throw APIError(.badRequest, code: "invalid_form", message: "the form is not URL-encoded fields (\(error))")
        }
    }

    /// The session, once the form's `csrf` matches it; else 403 and nothing done.
    static func checkCSRF(_ request: Request, _ context: APIRequestContext) async throws -> UISession {
        guard let session = context.session else { throw APIError.unauthorized }
        guard let given = try await form(request)["csrf"], ConstantTime.equal(session.csrf.utf8, given.utf8) else {
            throw APIError.forbidden("the form's CSRF value is missing or wrong; reload the page and try again")
        }
        return session
    }
}

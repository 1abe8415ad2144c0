import BerthAPI
import BerthCore
import BerthStore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// Every token kind against every route and project: allowed means any answer but 401/403,
/// denied means 403 (401 without a token), whatever the target.
@Suite("Authorization matrix") struct AuthorizationMatrixTests {
    /// What a route needs, written out as the API reference states it.
    enum Need {
        case readJobs(String?), writeJobs(String?), readResources(String?), writeResources(String?), readState(String?)
        /// The operator's own writes (a Project and its policy): `admin` only.
        case admin(String)

        /// `nil` project: every project (plan, metrics), or a list the token's limit narrows.
        var project: String? {
            switch self {
            case .readJobs(let p), .writeJobs(let p), .readResources(let p), .writeResources(let p), .readState(let p): p
            case .admin(let p): p
            }
        }
    }

    struct Route: CustomStringConvertible {
        var method: HTTPRequest.Method
        var uri: String
        var body: String?
        var need: Need
        /// A list without a project filter: a limited token sees its own project.
        var narrowedByLimit = false
        var description: String { "\(method) \(uri)" }
    }

    /// scope → what it grants.
    static func grants(_ scope: String, _ need: Need) -> Bool {
        switch (scope, need) {
        case ("admin", _): true
        case ("read", .readJobs), ("read", .readResources), ("read", .readState): true
        case ("jobs", .readJobs), ("jobs", .writeJobs): true
        case ("resources", .readResources), ("resources", .writeResources): true
        default: false
        }
    }

    static func expectAllowed(token: String, _ route: Route) -> Bool {
        let parts = token.split(separator: "-").map(String.init)
        let scope = parts[0]
        let limit = parts.count > 1 ? parts[1] : nil
        guard grants(scope, route.need) else { return false }
        guard let limit else { return true }
        if let project = route.need.project { return project == limit }
        return route.narrowedByLimit
    }

    @Test func everyScopeAgainstEveryRouteAndProject() async throws {
        let fixture = try await APIFixture()
        let alphaJob = try await fixture.store.submitJob(
            JobSubmission(project: "alpha", name: "a", spec: JobSpec(container: ContainerSpec(image: try ImageReference(parsing: "localhost/berth-busybox:latest")))), now: Date()
        ).job
        let betaJob = try await fixture.store.submitJob(JobSubmission(project: "beta", name: "b", spec: alphaJob.spec), now: Date()).job
        let routes = [
            Route(method: .get, uri: "/v1/jobs?project=alpha", need: .readJobs("alpha")),
            Route(method: .get, uri: "/v1/jobs", need: .readJobs(nil), narrowedByLimit: true),
            Route(method: .get, uri: "/v1/jobs/\(alphaJob.id)", need: .readJobs("alpha")),
            Route(method: .get, uri: "/v1/jobs/\(betaJob.id)", need: .readJobs("beta")),
            Route(method: .get, uri: "/v1/jobs/no-such-job", need: .readJobs("unknown")),
            Route(method: .get, uri: "/v1/jobs/\(alphaJob.id)/logs", need: .readJobs("alpha")),
            Route(method: .post, uri: "/v1/jobs", body: APIFixture.jobYAML("n", project: "alpha"), need: .writeJobs("alpha")),
            Route(method: .post, uri: "/v1/jobs", body: APIFixture.jobYAML("n", project: "beta"), need: .writeJobs("beta")),
            Route(method: .post, uri: "/v1/jobs/\(betaJob.id)/cancel", need: .writeJobs("beta")),
            Route(method: .post, uri: "/v1/jobs/\(alphaJob.id)/cancel", need: .writeJobs("alpha")),
            Route(method: .get, uri: "/v1/resources?project=alpha", need: .readResources("alpha")),
            Route(method: .get, uri: "/v1/resources", need: .readResources(nil), narrowedByLimit: true),
            Route(method: .get, uri: "/v1/resources/service/alpha/owned", need: .readResources("alpha")),
            Route(method: .put, uri: "/v1/resources/service/alpha/web", body: APIFixture.serviceYAML("web"), need: .writeResources("alpha")),
            Route(method: .put, uri: "/v1/resources/service/beta/web", body: APIFixture.serviceYAML("web", project: "beta"), need: .writeResources("beta")),
            Route(method: .delete, uri: "/v1/resources/service/beta/nothing", need: .writeResources("beta")),
            // A Project document is its own project's to read (its metadata.project is always
            // default), and only an admin's to write.
            Route(method: .get, uri: "/v1/resources/project/default/alpha", need: .readResources("alpha")),
            Route(method: .get, uri: "/v1/resources/project/default/beta", need: .readResources("beta")),
            Route(method: .put, uri: "/v1/resources/project/default/gamma", body: "apiVersion: berth/v1\nkind: Project\nmetadata: {name: gamma}\n", need: .admin("gamma")),
            Route(method: .put, uri: "/v1/resources/project/default/default", body: "apiVersion: berth/v1\nkind: Project\nmetadata: {name: default}\n", need: .admin("default")),
            Route(method: .get, uri: "/v1/plan", need: .readState(nil)),
            Route(method: .get, uri: "/v1/status?project=alpha", need: .readState("alpha")),
            Route(method: .get, uri: "/v1/status", need: .readState(nil), narrowedByLimit: true),
            Route(method: .get, uri: "/v1/events?project=beta", need: .readState("beta")),
            Route(method: .get, uri: "/metrics", need: .readState(nil)),
            // The git source serves every project: no project-limited token reads it, and only an
            // admin pins a revision.
            Route(method: .get, uri: "/v1/source", need: .readState(nil)),
            Route(method: .get, uri: "/v1/source/history", need: .readState(nil)),
            Route(method: .post, uri: "/v1/source/rollback", body: #"{"revision": null}"#, need: .admin("default")),
            // Nodes serve every project: reading needs read without a limit, changing one admin.
            Route(method: .get, uri: "/v1/nodes", need: .readState(nil)),
            Route(method: .get, uri: "/v1/nodes/worker-1", need: .readState(nil)),
            Route(method: .post, uri: "/v1/nodes/worker-1/cordon", need: .admin("default")),
            Route(method: .post, uri: "/v1/nodes/worker-1/uncordon", need: .admin("default")),
            Route(method: .post, uri: "/v1/nodes/worker-1/drain", need: .admin("default")),
            Route(method: .delete, uri: "/v1/nodes/no-such-node", need: .admin("default")),
            // A CronJob's run now is a job write in its project.
            Route(method: .post, uri: "/v1/cronjobs/beta/nightly/run", need: .writeJobs("beta")),
            Route(method: .post, uri: "/v1/cronjobs/alpha/nightly/run", need: .writeJobs("alpha")),
        ]
        try await fixture.test { client in
            for route in routes {
                let anonymous = try await client.call(route.method, route.uri, token: nil, body: route.body)
                #expect(anonymous.status == .unauthorized, "\(route) without a token")
                #expect(try anonymous.error()["code"] as? String == "unauthorized")
                let forged = try await client.call(route.method, route.uri, token: "berth_forged", body: route.body)
                #expect(forged.status == .unauthorized, "\(route) with an unknown token")
                for (name, token) in fixture.tokens.sorted(by: { $0.key < $1.key }) {
                    let response = try await client.call(route.method, route.uri, token: token, body: route.body)
                    if Self.expectAllowed(token: name, route) {
                        #expect(response.status != .forbidden && response.status != .unauthorized, "\(name) on \(route): \(response.status) \(response.text)")
                        #expect(response.status.code < 500, "\(name) on \(route): \(response.status)")
                    } else {
                        #expect(response.status == .forbidden, "\(name) on \(route): expected 403, got \(response.status)")
                    }
                }
            }
        }
        await fixture.finish()
    }

    @Test func aRevokedOrExpiredTokenIsRefused() async throws {
        let fixture = try await APIFixture()
        let revoked = try await fixture.store.createToken(name: "gone", scopes: [.admin], project: nil, expiresAt: nil, now: Date())
        _ = try await fixture.store.revokeToken(revoked.record.id, now: Date())
        let expired = try await fixture.store.createToken(name: "old", scopes: [.admin], project: nil, expiresAt: Date().addingTimeInterval(-1), now: Date().addingTimeInterval(-60))
        try await fixture.test { client in
            #expect(try await client.call(.get, "/v1/jobs", token: revoked.token).status == .unauthorized)
            #expect(try await client.call(.get, "/v1/jobs", token: expired.token).status == .unauthorized)
            let basic = try await client.execute(uri: "/v1/jobs", method: .get, headers: [.authorization: "Basic dXNlcjpwdw=="])
            #expect(basic.status == .unauthorized)
            #expect(try basic.error()["field"] as? String == "Authorization")
        }
        await fixture.finish()
    }

    /// (Blanks before the scheme are not the header's: HTTP drops them around a field value.)
    @Test func theBearerSchemeIsReadInAnyCaseWithBlanksAroundTheToken() async throws {
        let fixture = try await APIFixture()
        let admin = try await fixture.store.createToken(name: "ops", scopes: [.admin], project: nil, expiresAt: nil, now: Date())
        try await fixture.test { client in
            for accepted in ["Bearer \(admin.token)", "bearer \(admin.token)", "BEARER   \(admin.token) \t", "Bearer \t\(admin.token)", " Bearer \(admin.token)"] {
                let response = try await client.execute(uri: "/v1/jobs", method: .get, headers: [.authorization: accepted])
                #expect(response.status == .ok, "\(accepted.debugDescription): \(response.status) \(response.text)")
            }
            for malformed in ["Bearer", "Bearer ", "Bearer  \t ", "Bearer\t\(admin.token)", "Bearerx \(admin.token)", "Bear \(admin.token)"] {
                let response = try await client.execute(uri: "/v1/jobs", method: .get, headers: [.authorization: malformed])
                #expect(response.status == .unauthorized, "\(malformed.debugDescription): \(response.status)")
                #expect(try response.error()["field"] as? String == "Authorization", "\(malformed.debugDescription): \(response.text)")
            }
            let wrong = try await client.execute(uri: "/v1/jobs", method: .get, headers: [.authorization: "Bearer \(admin.token)x"])
            #expect(wrong.status == .unauthorized)
            #expect(try wrong.error()["field"] == nil, "a well-formed unknown token is not a header problem: \(wrong.text)")
        }
        await fixture.finish()
    }
}

import BerthAPI
@testable import BerthController
import BerthDocker
import BerthStore
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// `/readyz` tells anyone whether the server is ready, and only a reader why not.
@Suite("Health routes") struct HealthRouteTests {
    @Test func readinessWithoutATokenIsOnlyReadyOrNot() async throws {
        let fixture = try await APIFixture()
        // given: a second API whose engine address leads nowhere
        var broken = fixture.dependencies
        broken.engine = DockerEngine(client: DockerClient(endpoint: try DockerEndpoint(host: "unix:///nonexistent/berth-readyz-test.sock")))
        try await fixture.test { client in
            // when
            let ready = try await client.call(.get, "/readyz", token: nil)
            let detailed = try await client.call(.get, "/readyz", token: fixture.tokens["read"])

            // then
            #expect(ready.status == .ok)
            #expect(NSDictionary(dictionary: try ready.json()) == ["status": "ready"], "\(ready.text)")
            #expect(detailed.status == .ok)
            #expect(try detailed.json()["docker"] as? String == "ok", "\(detailed.text)")
        }
        let app = Application(router: APIServer.router(broken))
        try await app.test(.router) { client in
            // when
            let anonymous = try await client.call(.get, "/readyz", token: nil)
            let jobsOnly = try await client.call(.get, "/readyz", token: fixture.tokens["jobs"])
            let reader = try await client.call(.get, "/readyz", token: fixture.tokens["read"])
            let wrong = try await client.call(.get, "/readyz", token: "berth_not-a-token")

            // then: the address and the engine's error only for a token that may read state
            for answer in [anonymous, jobsOnly, wrong] {
                #expect(answer.status == .serviceUnavailable)
                #expect(answer.errorMessage() == "not ready", "\(answer.text)")
                #expect(!answer.text.contains("nonexistent"), "\(answer.text)")
            }
            #expect(reader.status == .serviceUnavailable)
            #expect(reader.errorMessage().contains("docker:") && reader.text.contains("nonexistent"), "\(reader.text)")
        }
        await fixture.finish()
    }

    @Test func aReaderLearnsWhetherTheControllerRunsOnAStaleDesiredState() async throws {
        let fixture = try await APIFixture()
        // given: the API of a process whose controller could not read the store for a while
        let health = ControllerHealth()
        var serving = fixture.dependencies
        serving.controller = health
        let since = Date(timeIntervalSince1970: 1_800_000_000)
        let app = Application(router: APIServer.router(serving))
        try await app.test(.router) { client in
            // when: fresh
            let fresh = try await client.call(.get, "/readyz", token: fixture.tokens["read"])

            // then
            #expect(try fresh.json()["desiredState"] as? String == "fresh", "\(fresh.text)")

            // when: stale, with writes waiting
            health.update(ControllerReport(desiredStateStaleSince: since, desiredStateStaleReason: "PostgreSQL could not be reached", pendingStoreWrites: 3, leading: false))
            let anonymous = try await client.call(.get, "/readyz", token: nil)
            let reader = try await client.call(.get, "/readyz", token: fixture.tokens["read"])
            let status = try await client.call(.get, "/v1/status", token: fixture.tokens["read"]).decode(StatusListView.self)

            // then: the reader and the status answer say since when; anyone else only that it is ready
            #expect(NSDictionary(dictionary: try anonymous.json()) == ["status": "ready"], "\(anonymous.text)")
            #expect(try reader.json()["desiredState"] as? String == "stale since \(since.formatted(.iso8601))", "\(reader.text)")
            #expect(status.controller?.desiredStateStaleSince == since)
            #expect(status.controller?.pendingStoreWrites == 3)
        }
        await fixture.finish()
    }
}

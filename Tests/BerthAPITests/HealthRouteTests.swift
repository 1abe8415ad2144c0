import BerthAPI
import BerthDocker
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
}

@testable import BerthAPI
import BerthStore
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing

/// `/v1/source`, its history and rollback, over a real SQLite store.
@Suite("Source routes") struct SourceRouteTests {
    static let healthy = SourceRevisionRecord(
        sha: "1a2b3c4d" + String(repeating: "0", count: 32), subject: "raise web replicas", author: "Ada <ada@example.com>",
        committedAt: Date(timeIntervalSince1970: 1_800_000_000), outcome: .healthy, attemptedAt: Date(timeIntervalSince1970: 1_800_000_010),
        appliedAt: Date(timeIntervalSince1970: 1_800_000_011), healthyAt: Date(timeIntervalSince1970: 1_800_000_020)
    )
    static let twin = SourceRevisionRecord(
        sha: "1a2b3c4e" + String(repeating: "0", count: 32), subject: "an older one", author: "Ada <ada@example.com>",
        committedAt: Date(timeIntervalSince1970: 1_799_999_000), outcome: .superseded, attemptedAt: Date(timeIntervalSince1970: 1_800_000_001),
        appliedAt: Date(timeIntervalSince1970: 1_800_000_002), healthyAt: Date(timeIntervalSince1970: 1_800_000_003)
    )
    static let failed = SourceRevisionRecord(
        sha: "5e6f7a8b" + String(repeating: "0", count: 32), subject: "break web", author: "Bob <bob@example.com>",
        committedAt: Date(timeIntervalSince1970: 1_800_000_030), outcome: .failed, attemptedAt: Date(timeIntervalSince1970: 1_800_000_040),
        appliedAt: Date(timeIntervalSince1970: 1_800_000_041), failedAt: Date(timeIntervalSince1970: 1_800_000_100),
        errors: ["web did not become healthy within 1m"], rolledBackTo: healthy.sha
    )
    static let invalid = SourceRevisionRecord(
        sha: "9f8e7d6c" + String(repeating: "0", count: 32), subject: "typo", author: "Bob <bob@example.com>",
        committedAt: Date(timeIntervalSince1970: 1_800_000_200), outcome: .invalid, attemptedAt: Date(timeIntervalSince1970: 1_800_000_210),
        errors: ["hosts/web.yaml:12:5 spec.replicas: expected an integer", "hosts/db.yaml:1:1 kind: unknown kind Sevrice"]
    )

    /// A store whose source runs `healthy` and last attempted the invalid revision.
    static func seed(_ store: some Store) async throws {
        for record in [twin, healthy, failed, invalid] { try await store.recordSourceRevision(record) }
        try await store.updateSourceState(
            SourceState(
                url: "https://git.example.com/ops/hosts.git", ref: "main", path: "hosts", head: invalid.sha, lastFetchAt: Date(timeIntervalSince1970: 1_800_000_205),
                lastSuccessfulSyncAt: Date(timeIntervalSince1970: 1_800_000_205), applied: healthy.sha, attempted: invalid.sha
            ))
    }

    @Test func theSourceIsShownWithItsRevisionsAndStalledWhenTheLastAttemptWasInvalid() async throws {
        let fixture = try await APIFixture(engine: InMemoryEngine())
        try await fixture.test { client in
            // given: no source yet
            let none = try await client.call(.get, "/v1/source", token: fixture.tokens["read"])
            #expect(none.status == .notFound && none.errorMessage().contains("no git source"), "\(none.text)")
            let emptyStatus = try await client.call(.get, "/v1/status", token: fixture.tokens["read"]).decode(StatusListView.self)
            #expect(emptyStatus.source == nil)
            // when
            try await Self.seed(fixture.store)
            let answer = try await client.call(.get, "/v1/source", token: fixture.tokens["read"])
            let history = try await client.call(.get, "/v1/source/history?limit=3", token: fixture.tokens["read"])
            let status = try await client.call(.get, "/v1/status", token: fixture.tokens["read"]).decode(StatusListView.self)
            let limitedStatus = try await client.call(.get, "/v1/status", token: fixture.tokens["read-alpha"]).decode(StatusListView.self)
            let limited = try await client.call(.get, "/v1/source", token: fixture.tokens["read-alpha"])
            let badLimit = try await client.call(.get, "/v1/source/history?limit=0", token: fixture.tokens["read"])
            // then
            #expect(answer.status == .ok, "\(answer.text)")
            let source = try answer.decode(SourceView.self)
            #expect(source.url == "https://git.example.com/ops/hosts.git" && source.ref == "main" && source.path == "hosts")
            #expect(source.appliedRevision == Self.healthy && source.attemptedRevision == Self.invalid)
            #expect(source.stalled && source.errors == Self.invalid.errors && source.pinned == nil)
            #expect(try history.decode(ItemsView<SourceRevisionRecord>.self).items == [Self.invalid, Self.failed, Self.healthy])
            #expect(status.source?.applied == Self.healthy.sha && status.source?.stalled == true)
            #expect(limitedStatus.source == nil, "the source serves every project: not for a token limited to one")
            #expect(limited.status == .forbidden)
            #expect(try badLimit.status == .badRequest && (badLimit.error()["field"] as? String) == "limit")
        }
        await fixture.finish()
    }

    @Test func rollbackPinsAHealthyRevisionByAUniquePrefixAndClears() async throws {
        let fixture = try await APIFixture(engine: InMemoryEngine())
        try await fixture.test { client in
            let admin = fixture.tokens["admin"]
            // given: no source, then one
            let early = try await client.call(.post, "/v1/source/rollback", token: admin, body: #"{"revision": "1a2b3c4d"}"#, contentType: "application/json")
            #expect(early.status == .notFound, "\(early.text)")
            try await Self.seed(fixture.store)
            // when
            let pinned = try await client.call(.post, "/v1/source/rollback", token: admin, body: #"{"revision": "1A2B3C4D"}"#, contentType: "application/json")
            // then
            #expect(pinned.status == .ok, "\(pinned.text)")
            #expect(try pinned.decode(SourceView.self).pinned == Self.healthy.sha)
            #expect(try await fixture.store.sourceState()?.pinned == Self.healthy.sha)
            // when: refusals
            func refusal(_ body: String, token: String? = admin) async throws -> TestResponse {
                try await client.call(.post, "/v1/source/rollback", token: token, body: body, contentType: "application/json")
            }
            let unknown = try await refusal(#"{"revision": "0123456"}"#)
            let ambiguous = try await refusal(#"{"revision": "1a2b3c4"}"#)
            let notHex = try await refusal(#"{"revision": "main"}"#)
            let neverHealthy = try await refusal(#"{"revision": "5e6f7a8"}"#)
            let forgotten = try await refusal(#"{}"#)
            let reader = try await refusal(#"{"revision": null}"#, token: fixture.tokens["read"])
            // then: each says why, and the pin stays
            #expect(unknown.status == .notFound, "\(unknown.text)")
            #expect(ambiguous.status == .unprocessableContent && ambiguous.errorMessage().contains("more than one"), "\(ambiguous.text)")
            #expect(notHex.status == .unprocessableContent, "\(notHex.text)")
            #expect(neverHealthy.status == .conflict && neverHealthy.errorMessage().contains("never became healthy"), "\(neverHealthy.text)")
            #expect(try forgotten.status == .unprocessableContent && (forgotten.error()["field"] as? String) == "revision", "\(forgotten.text)")
            #expect(reader.status == .forbidden && reader.errorMessage().contains("admin"), "\(reader.text)")
            #expect(try await fixture.store.sourceState()?.pinned == Self.healthy.sha)
            // when: cleared
            let cleared = try await refusal(#"{"revision": null}"#)
            // then
            #expect(try cleared.status == .ok && (cleared.decode(SourceView.self).pinned) == nil, "\(cleared.text)")
            #expect(try await fixture.store.sourceState()?.pinned == nil)
        }
        await fixture.finish()
    }
}

/// `POST /v1/hooks/git`: signed deliveries trigger a fetch once; anything else does not.
@Suite("Git webhook") struct GitWebhookTests {
    /// Counts the triggers.
    final class Triggers: Sendable {
        private let count = Atomic<Int>(0)
        var value: Int { count.load(ordering: .sequentiallyConsistent) }
        func fire() { count.add(1, ordering: .sequentiallyConsistent) }
    }

    static let secret = "It's a Secret to Everybody"
    static let body = #"{"ref": "refs/heads/main", "after": "1a2b3c4d"}"#

    static func signature(_ body: String, secret: String = secret) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Array(body.utf8), using: SymmetricKey(data: Array(secret.utf8)))
        return "sha256=" + code.map { String(format: "%02x", $0) }.joined()
    }

    /// Runs `body` against the API with a webhook (when `configured`) whose triggers are counted.
    static func withHook(configured: Bool = true, bodyLimit: Int = 1 << 20, _ body: @Sendable (any TestClientProtocol, Triggers) async throws -> Void) async throws {
        let fixture = try await APIFixture(engine: InMemoryEngine(), bodyLimit: bodyLimit)
        let triggers = Triggers()
        var dependencies = fixture.dependencies
        if configured { dependencies.gitWebhook = GitWebhook(secret: Array(secret.utf8), trigger: { triggers.fire() }) }
        let app = Application(router: APIServer.router(dependencies))
        try await app.test(.router) { client in try await body(client, triggers) }
        await fixture.finish()
    }

    static func deliver(_ client: any TestClientProtocol, body: String = body, _ headers: HTTPFields) async throws -> TestResponse {
        try await client.call(.post, "/v1/hooks/git", token: nil, body: body, contentType: "application/json", headers: headers)
    }

    static func header(_ name: String) -> HTTPField.Name { HTTPField.Name(name)! }

    @Test func aGitHubDeliveryWithAValidSignatureTriggersOnceAndItsRedeliveryIsCoalesced() async throws {
        try await Self.withHook { client, triggers in
            // when
            let first = try await Self.deliver(client, [Self.header("X-Hub-Signature-256"): Self.signature(Self.body), Self.header("X-GitHub-Delivery"): "d-1"])
            // then
            #expect(try first.status == .accepted && (first.json()["status"] as? String) == "accepted", "\(first.text)")
            #expect(triggers.value == 1)
            // when: the same delivery again, then another
            let again = try await Self.deliver(client, [Self.header("X-Hub-Signature-256"): Self.signature(Self.body), Self.header("X-GitHub-Delivery"): "d-1"])
            let next = try await Self.deliver(client, [Self.header("X-Hub-Signature-256"): Self.signature(Self.body), Self.header("X-Gitea-Delivery"): "d-2"])
            // then
            #expect(try again.status == .accepted && (again.json()["status"] as? String) == "duplicate", "\(again.text)")
            #expect(next.status == .accepted)
            #expect(triggers.value == 2)
        }
    }

    @Test func anUnsignedOrWronglySignedDeliveryIs401AndTriggersNothing() async throws {
        try await Self.withHook { client, triggers in
            // when
            let answers = [
                try await Self.deliver(client, [:]),
                try await Self.deliver(client, [Self.header("X-Hub-Signature-256"): Self.signature(Self.body, secret: "guess")]),
                try await Self.deliver(client, [Self.header("X-Hub-Signature-256"): Self.signature(Self.body + " ")]),
                try await Self.deliver(client, [Self.header("X-Hub-Signature-256"): "sha256=zz"]),
                try await Self.deliver(client, [Self.header("X-Hub-Signature-256"): String(Self.signature(Self.body).dropFirst(7))]),
                try await Self.deliver(client, [Self.header("X-Gitlab-Token"): Self.secret + "x"]),
                try await Self.deliver(client, [Self.header("X-Gitlab-Token"): ""]),
            ]
            // then: one answer for all, which says nothing of why
            for answer in answers {
                #expect(answer.status == .unauthorized, "\(answer.text)")
                #expect(answer.errorMessage() == "the delivery is not signed with the webhook's secret", "\(answer.text)")
            }
            #expect(triggers.value == 0)
        }
    }

    @Test func aGitLabDeliveryWithTheSecretTokenTriggers() async throws {
        try await Self.withHook { client, triggers in
            // when
            let first = try await Self.deliver(client, [Self.header("X-Gitlab-Token"): Self.secret, Self.header("X-Gitlab-Event-UUID"): "u-1"])
            let again = try await Self.deliver(client, [Self.header("X-Gitlab-Token"): Self.secret, Self.header("X-Gitlab-Event-UUID"): "u-1"])
            // then
            #expect(first.status == .accepted && again.status == .accepted, "\(first.text) \(again.text)")
            #expect(triggers.value == 1)
        }
    }

    @Test func withoutAWebhookTheRouteIs404AndATooLargeBodyIs413() async throws {
        try await Self.withHook(configured: false) { client, _ in
            let answer = try await Self.deliver(client, [Self.header("X-Hub-Signature-256"): Self.signature(Self.body)])
            #expect(answer.status == .notFound, "\(answer.text)")
        }
        try await Self.withHook(bodyLimit: 1024) { client, triggers in
            let large = "{\"padding\": \"" + String(repeating: "x", count: 2048) + "\"}"
            let answer = try await Self.deliver(client, body: large, [Self.header("X-Hub-Signature-256"): Self.signature(large)])
            #expect(answer.status == .contentTooLarge, "\(answer.text)")
            #expect(triggers.value == 0)
        }
    }

    @Test func recentDeliveriesForgetIdsAfterTheWindowAndBeyondTheCapacity() {
        // given
        let start = ContinuousClock.now
        let recent = RecentDeliveries(window: .seconds(300), capacity: 2)
        // then
        #expect(recent.isNew("a", now: start) && !recent.isNew("a", now: start + .seconds(299)))
        #expect(recent.isNew("a", now: start + .seconds(301)), "forgotten after the window")
        #expect(recent.isNew("b", now: start + .seconds(302)) && recent.isNew("c", now: start + .seconds(303)))
        #expect(recent.isNew("a", now: start + .seconds(304)), "the oldest went beyond the capacity")
        #expect(recent.isNew(nil, now: start) && recent.isNew(nil, now: start))
    }
}

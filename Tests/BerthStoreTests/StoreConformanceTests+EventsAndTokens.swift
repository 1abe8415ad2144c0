import BerthCore
import Foundation
import Testing

@testable import BerthStore

/// Events and API tokens on both stores.
extension StoreConformanceTests {
    // MARK: Events

    @Test(arguments: StoreKind.allCases)
    func appendsQueriesAndPrunesEvents(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given
            let app = ResourceID(kind: .service, project: "qfield", name: "app")
            let db = ResourceID(kind: .service, project: "qfield", name: "db")
            let first = try await store.appendEvent(EventRecord(resource: app, project: "qfield", reason: "Created", message: "created berth-qfield-app-0", time: at(0)))
            try await store.appendEvent(EventRecord(resource: db, project: "qfield", type: .warning, reason: "Unhealthy", message: "unhealthy for 3 checks", time: at(5)))
            let third = try await store.appendEvent(EventRecord(resource: app, project: "qfield", reason: "Restarted", message: "exited (code 1)", time: at(10)))
            try await store.appendEvent(EventRecord(project: "shop", reason: "Note", message: "other project", time: at(11)))
            // then
            #expect(first.sequence > 0 && third.sequence > first.sequence)
            let forApp = try await store.events(EventQuery(resource: app))
            #expect(forApp.map(\.reason) == ["Created", "Restarted"])
            #expect(forApp.first == first)
            #expect(try await store.events(EventQuery(project: "qfield", since: at(5))).map(\.reason) == ["Unhealthy", "Restarted"])
            #expect(try await store.events(EventQuery(afterSequence: first.sequence, limit: 2)).map(\.reason) == ["Unhealthy", "Restarted"])
            #expect(try await store.events(EventQuery(project: "qfield")).first { $0.reason == "Unhealthy" }?.type == .warning)
            // when
            let pruned = try await store.pruneEvents(before: at(10), keepAtMost: 100)
            // then
            #expect(pruned == 2)
            #expect(try await store.events(EventQuery()).map(\.reason) == ["Restarted", "Note"])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func prunesEventsBeyondTheNewestKept(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given: five recent events
            for index in 0..<5 {
                try await store.appendEvent(EventRecord(project: "qfield", reason: "Note", message: "event \(index)", time: at(100 + Double(index))))
            }
            // when: none too old, at most 3 kept; then as many as there are
            let pruned = try await store.pruneEvents(before: at(0), keepAtMost: 3)
            let none = try await store.pruneEvents(before: at(0), keepAtMost: 3)
            // then
            #expect(pruned == 2 && none == 0)
            #expect(try await store.events(EventQuery()).map(\.message) == ["event 2", "event 3", "event 4"])
            #expect(try await store.pruneEvents(before: at(0), keepAtMost: 0) == 3)
            #expect(try await store.events(EventQuery()).isEmpty)
        }
    }

    // MARK: Tokens

    @Test(arguments: StoreKind.allCases)
    func tokensAreStoredAsHashesAndAuthenticateUntilRevokedOrExpired(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given
            let (token, record) = try await store.createToken(name: "ci", scopes: [.jobsWrite, .read], project: "qfield", expiresAt: at(3600), now: at(0))
            let (adminToken, adminRecord) = try await store.createToken(name: "admin", scopes: [.admin], project: nil, expiresAt: nil, now: at(1))
            // then
            #expect(token.hasPrefix("berth_") && token.count > 40 && token != adminToken)
            #expect(record.scopes == [.jobsWrite, .read] && record.project == "qfield" && record.lastUsedAt == nil)
            let stored = try await rawQuery(store, "SELECT hash FROM tokens").compactMap { $0[0] }
            #expect(stored.count == 2 && !stored.contains(token) && stored.contains(TokenSecret.hash(token)))
            // when
            let used = try await store.authenticate(token: token, now: at(60))
            // then
            #expect(used?.id == record.id && used?.lastUsedAt == at(60))
            #expect(try await store.authenticate(token: token + "x", now: at(60)) == nil)
            #expect(try await store.authenticate(token: token, now: at(3600)) == nil, "expired")
            #expect(try await store.tokens().map(\.name) == ["ci", "admin"])
            #expect(try await store.authenticate(token: adminToken, now: at(1.5)) != nil)
            #expect(try await store.revokeToken(adminRecord.id, now: at(2)))
            #expect(try await store.revokeToken(adminRecord.id, now: at(3)) == false)
            #expect(try await store.authenticate(token: adminToken, now: at(2.2)) == nil, "revoked through this store: refused at once")
            #expect(try await store.authenticate(token: adminToken, now: at(4)) == nil)
            #expect(try await store.tokens().first { $0.id == adminRecord.id }?.revokedAt == at(2))
            await expectStoreError(.invalidArgument) { try await store.createToken(name: "none", scopes: [], project: nil, expiresAt: nil, now: at(0)) }
        }
    }

    /// Stored hashes must stay what earlier versions wrote, or every existing token stops working.
    @Test func aTokenIsStoredAsTheLowerCaseHexOfItsSHA256() {
        #expect(TokenSecret.hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(TokenSecret.hash("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    /// A store remembers a token it found valid for a second (one database trip fewer per API
    /// request); a revocation made through another store, as by another process, takes effect
    /// within that second, and through the same store at once.
    @Test(arguments: StoreKind.allCases)
    func aTokenRevokedElsewhereIsRefusedWithinASecond(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, place in
            // given: the API's store found the token valid; another process's store revokes it
            let (token, record) = try await store.createToken(name: "app", scopes: [.read], project: nil, expiresAt: at(30), now: at(0))
            #expect(try await store.authenticate(token: token, now: at(10)) != nil)
            let other = try await place.open()
            #expect(try await other.revokeToken(record.id, now: at(10.1)))
            #expect(try await other.authenticate(token: token, now: at(10.2)) == nil)
            // then
            #expect(try await store.authenticate(token: token, now: at(10.9))?.id == record.id, "remembered for at most a second")
            #expect(try await store.authenticate(token: token, now: at(11)) == nil)
            #expect(try await store.authenticate(token: token, now: at(10.5)) == nil, "a clock that went back does not bring it back")
            await other.close()
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aJobTokenWorksUntilItsJobEnds(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given
            let job = try await Self.job(in: .started, store: store, name: "worker")
            let (token, record) = try await store.createJobToken(jobID: job.id, now: at(2))
            // then
            #expect(record.scopes == [.job] && record.jobID == job.id && record.project == "qfield")
            #expect(try await store.authenticate(token: token, now: at(3))?.jobID == job.id)
            #expect(try await store.tokens().isEmpty, "job tokens are not listed with API tokens")
            // when
            try await store.transitionJob(job.id, from: .started, to: .finished, claim: JobClaim(controller: "c1", fence: 1), update: JobUpdate(exitCode: 0), now: at(3.2))
            // then: refused at once, also within the second a valid token is remembered
            #expect(try await store.authenticate(token: token, now: at(3.5)) == nil)
            #expect(try await store.authenticate(token: token, now: at(5)) == nil)
            await expectStoreError(.invalidArgument) { try await store.createJobToken(jobID: job.id, now: at(6)) }
            await expectStoreError(.notFound) { try await store.createJobToken(jobID: "missing", now: at(6)) }
        }
    }
}

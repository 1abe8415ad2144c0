import BerthCore
import Foundation
import Testing

@testable import BerthStore

/// The web UI's sessions on both stores (migration 11).
extension StoreConformanceTests {
    @Test(arguments: StoreKind.allCases)
    func aUISessionIsStoredAsAHashAndValidUntilItExpires(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given
            let (_, token) = try await store.createToken(name: "ops", scopes: [.read], project: "alpha", expiresAt: nil, now: at(0))
            // when
            let (secret, session) = try await store.createUISession(tokenID: token.id, lifetime: 3600, now: at(10))
            // then
            #expect(session.id == TokenSecret.hash(secret) && session.tokenID == token.id && session.expiresAt == at(3610))
            #expect(session.csrf.count > 40 && session.csrf != secret)
            let stored = try await rawQuery(store, "SELECT id, csrf FROM ui_sessions")
            #expect(stored.count == 1 && stored[0][0] == TokenSecret.hash(secret) && !stored.flatMap { $0 }.contains(secret))
            let found = try #require(try await store.uiSession(secret: secret, now: at(20)))
            #expect(found.session == session && found.token.id == token.id && found.token.project == "alpha")
            #expect(try await store.uiSession(secret: secret + "x", now: at(20)) == nil)
            #expect(try await store.uiSession(secret: secret, now: at(3610)) == nil, "expired")
            await expectStoreError(.notFound) { try await store.createUISession(tokenID: "missing", lifetime: 60, now: at(0)) }
            await expectStoreError(.invalidArgument) { try await store.createUISession(tokenID: token.id, lifetime: 0, now: at(0)) }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aUISessionEndsWhenRevokedOrWhenItsTokenIsRevokedOrExpires(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given
            let (_, token) = try await store.createToken(name: "ops", scopes: [.admin], project: nil, expiresAt: nil, now: at(0))
            let (_, shortToken) = try await store.createToken(name: "short", scopes: [.read], project: nil, expiresAt: at(100), now: at(0))
            let (signedOut, signedOutSession) = try await store.createUISession(tokenID: token.id, lifetime: 3600, now: at(0))
            let (other, _) = try await store.createUISession(tokenID: token.id, lifetime: 3600, now: at(0))
            let (short, _) = try await store.createUISession(tokenID: shortToken.id, lifetime: 3600, now: at(0))
            // when: sign-out
            #expect(try await store.revokeUISession(signedOutSession.id, now: at(5)))
            #expect(try await store.revokeUISession(signedOutSession.id, now: at(6)) == false)
            // then
            #expect(try await store.uiSession(secret: signedOut, now: at(10)) == nil)
            #expect(try await store.uiSession(secret: other, now: at(10)) != nil)
            #expect(try await store.uiSession(secret: short, now: at(99)) != nil)
            #expect(try await store.uiSession(secret: short, now: at(100)) == nil, "its token expired")
            // when: the token is revoked
            try await store.revokeToken(token.id, now: at(20))
            // then
            #expect(try await store.uiSession(secret: other, now: at(21)) == nil)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func expiredAndRevokedUISessionsArePruned(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given
            let (_, token) = try await store.createToken(name: "ops", scopes: [.read], project: nil, expiresAt: nil, now: at(0))
            _ = try await store.createUISession(tokenID: token.id, lifetime: 60, now: at(0))
            let (_, revoked) = try await store.createUISession(tokenID: token.id, lifetime: 3600, now: at(0))
            let (kept, _) = try await store.createUISession(tokenID: token.id, lifetime: 3600, now: at(0))
            try await store.revokeUISession(revoked.id, now: at(30))
            // when
            let pruned = try await store.pruneUISessions(before: at(120))
            // then
            #expect(pruned == 2)
            #expect(try await rawQuery(store, "SELECT count(*) FROM ui_sessions").first?.first == "1")
            #expect(try await store.uiSession(secret: kept, now: at(120)) != nil)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func theNewestEventsComeNewestFirst(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given
            for index in 0..<5 {
                try await store.appendEvent(EventRecord(project: "alpha", reason: "R\(index)", message: "m", time: at(Double(index))))
            }
            // when
            var query = EventQuery(project: "alpha", limit: 2)
            query.newestFirst = true
            // then
            #expect(try await store.events(query).map(\.reason) == ["R4", "R3"])
        }
    }
}

import BerthCore
import Foundation
import Testing

@testable import BerthStore

/// The git source's revisions and state on both stores.
extension StoreConformanceTests {
    static func revision(_ sha: String, _ outcome: RevisionOutcome, attempted: Double, healthy: Double? = nil) -> SourceRevisionRecord {
        SourceRevisionRecord(
            sha: sha, subject: "change \(sha.prefix(4))", author: "Ada <ada@example.com>", committedAt: at(attempted - 60), outcome: outcome,
            attemptedAt: at(attempted), appliedAt: outcome == .invalid ? nil : at(attempted + 1), healthyAt: healthy.map(at),
            errors: outcome == .invalid ? ["web.yaml:3:5 spec.replicas: expected an integer", "db.yaml:1:1 kind: unknown"] : []
        )
    }

    /// 40 hex digits starting with `prefix`.
    static func sha(_ prefix: String) -> String {
        prefix + String(repeating: "0", count: 40 - prefix.count)
    }

    @Test(arguments: StoreKind.allCases)
    func recordsRevisionsAndReadsThemBackNewestFirst(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given
            let first = Self.revision(Self.sha("aaaa1111"), .healthy, attempted: 10, healthy: 20)
            var second = Self.revision(Self.sha("bbbb2222"), .applying, attempted: 30)
            let third = Self.revision(Self.sha("cccc3333"), .invalid, attempted: 40)
            // when
            for record in [second, third, first] { try await store.recordSourceRevision(record) }
            second.outcome = .failed
            second.failedAt = at(35)
            second.errors = ["web did not become healthy within 5m"]
            second.rolledBackTo = first.sha
            try await store.recordSourceRevision(second)
            // then: every field back, the last attempted first; a record replaced by its sha
            #expect(try await store.sourceRevisions(limit: 10) == [third, second, first])
            #expect(try await store.sourceRevisions(limit: 2) == [third, second])
            #expect(try await store.sourceRevision(sha: second.sha) == second)
            #expect(try await store.sourceRevision(sha: Self.sha("dddd")) == nil)
            #expect(try await store.sourceRevisions(prefix: "bbbb", limit: 5) == [second])
            #expect(try await store.sourceRevisions(prefix: "ee", limit: 5).isEmpty)
            await expectStoreError(.invalidArgument) { try await store.sourceRevisions(prefix: "b%", limit: 5) }
            await expectStoreError(.invalidArgument) { try await store.sourceRevisions(limit: 0) }
        }
    }

    @Test(arguments: StoreKind.allCases)
    func theSourceStateIsWrittenWholeButThePinOnlyByPinning(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given: nothing yet
            #expect(try await store.sourceState() == nil)
            let notifications = store.notifications()
            // when: a pin before the controller's first write leaves no source
            try await store.pinSourceRevision(Self.sha("aaaa"))
            // then
            #expect(try await store.sourceState() == nil)
            #expect(await firstNotification(notifications) { $0 == .sourcePinned })
            // when: the controller writes, its state naming another pin
            var state = SourceState(
                url: "https://git.example.com/ops/hosts.git", ref: "main", path: "hosts/web", head: Self.sha("bbbb"), lastFetchAt: at(5),
                lastFetchError: "timed out", lastSuccessfulSyncAt: at(4), applied: Self.sha("bbbb"), attempted: Self.sha("cccc"), pinned: "ignored"
            )
            try await store.updateSourceState(state)
            // then: the pin stays what pinning made it
            state.pinned = Self.sha("aaaa")
            #expect(try await store.sourceState() == state)
            // when: cleared, then written again with optional fields gone
            try await store.pinSourceRevision(nil)
            let plain = SourceState(url: "file:///srv/hosts.git", path: ".")
            try await store.updateSourceState(plain)
            // then
            #expect(try await store.sourceState() == plain)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func keepsTheNewestRevisionsAndThoseTheStateNames(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given: the oldest revision is the one applied; the second oldest is pinned
            guard let sqlStore = store as? SQLStore else { throw SetupError("unknown store \(type(of: store))") }
            let shas = (0..<6).map { Self.sha("a\($0)") }
            try await store.updateSourceState(SourceState(url: "file:///srv/hosts.git", path: ".", applied: shas[0]))
            try await store.pinSourceRevision(shas[1])
            // when: six revisions, three kept
            for (index, sha) in shas.enumerated() {
                try await sqlStore.recordSourceRevision(Self.revision(sha, .healthy, attempted: Double(index), healthy: Double(index) + 1), keeping: 3)
            }
            // then
            #expect(try await store.sourceRevisions(limit: 10).map(\.sha) == [shas[5], shas[4], shas[3], shas[1], shas[0]])
            // when: the pin cleared and the applied revision moved on
            try await store.pinSourceRevision(nil)
            try await store.updateSourceState(SourceState(url: "file:///srv/hosts.git", path: ".", applied: shas[5]))
            try await sqlStore.recordSourceRevision(Self.revision(Self.sha("b0"), .invalid, attempted: 10), keeping: 3)
            // then
            #expect(try await store.sourceRevisions(limit: 10).map(\.sha) == [Self.sha("b0"), shas[5], shas[4]])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aRevisionToPinIsNamedByAUniquePrefixAndWasHealthy(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given
            let healthy = Self.revision(Self.sha("1a2b3c4d"), .superseded, attempted: 10, healthy: 15)
            let twin = Self.revision(Self.sha("1a2b3c4e"), .healthy, attempted: 20, healthy: 25)
            let failed = Self.revision(Self.sha("9f8e7d6c"), .failed, attempted: 30)
            for record in [healthy, twin, failed] { try await store.recordSourceRevision(record) }
            // then
            #expect(try await store.revisionToPin("1A2B3C4D") == healthy)
            #expect(try await store.revisionToPin(twin.sha) == twin)
            let ambiguous = await expectStoreError(.invalidArgument) { try await store.revisionToPin("1a2b3c4") }
            #expect(ambiguous?.message.contains("more than one") == true)
            await expectStoreError(.invalidArgument) { try await store.revisionToPin("1a2b3c") }
            await expectStoreError(.invalidArgument) { try await store.revisionToPin("1a2b3c4%") }
            await expectStoreError(.notFound) { try await store.revisionToPin("0123456") }
            let never = await expectStoreError(.stateConflict) { try await store.revisionToPin("9f8e7d6") }
            #expect(never?.message.contains("never became healthy") == true)
        }
    }
}

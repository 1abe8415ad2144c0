import BerthCore
import Foundation
import Testing

@testable import BerthStore

/// Adopted containers on both stores.
extension StoreConformanceTests {
    static func adoption(_ container: String, service: String, replica: Int = 0, project: String = "qfield", at seconds: Double = 0) -> Adoption {
        Adoption(
            containerID: "id-\(container)", containerName: container, service: ResourceID(kind: .service, project: project, name: service),
            replica: replica, adoptedAt: at(seconds))
    }

    @Test(arguments: StoreKind.allCases)
    func recordsListsAndForgetsAdoptions(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given
            let web0 = Self.adoption("qfield_web_1", service: "web")
            let web1 = Self.adoption("qfield_web_2", service: "web", replica: 1)
            let db = Self.adoption("qfield_db_1", service: "db")
            let shop = Self.adoption("shop_app_1", service: "app", project: "shop")
            // when
            try await store.recordAdoptions([web1, web0, shop, db])
            let all = try await store.adoptions(project: nil)
            let qfield = try await store.adoptions(project: "qfield")
            let forgotten = try await store.forgetAdoption(containerID: web1.containerID)
            let again = try await store.forgetAdoption(containerID: web1.containerID)
            // then: sorted by project, service, replica; one project alone; forgotten once
            #expect(all == [db, web0, web1, shop])
            #expect(qfield == [db, web0, web1])
            #expect(forgotten && !again)
            #expect(try await store.adoptions(project: "qfield") == [db, web0])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func anAdoptionReplacesTheOneOfTheSameReplicaOrContainer(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given
            try await store.recordAdoptions([Self.adoption("qfield_web_1", service: "web"), Self.adoption("qfield_db_1", service: "db")])
            // when: another container for web's replica 0, and db's container now recorded as replica 1
            let replacement = Self.adoption("qfield-web-1", service: "web", at: 5)
            let moved = Self.adoption("qfield_db_1", service: "db", replica: 1, at: 6)
            try await store.recordAdoptions([replacement, moved])
            // then
            #expect(try await store.adoptions(project: nil) == [moved, replacement])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func refusesAnAdoptionOfAnythingButAServiceReplica(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given
            var volume = Self.adoption("qfield_data", service: "data")
            volume.service = ResourceID(kind: .volume, project: "qfield", name: "data")
            // when
            let error = await expectStoreError(.invalidArgument) { try await store.recordAdoptions([Self.adoption("qfield_web_1", service: "web"), volume]) }
            let recorded = try await store.adoptions(project: nil)
            // then: nothing recorded
            #expect(error?.message.contains("Service") == true)
            #expect(recorded.isEmpty)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func upgradesADatabaseAtMigration4KeepingItsJobsAndRecordingAdoptions(kind: StoreKind) async throws {
        // given: a database an older Berth left at migration 4, with a fenced job
        let place = try await TestPlace.make(kind)
        defer { Task { try? await place.remove() } }
        let spec = try Coding.encode(try jobSpec())
        try await place.migrate(
            upTo: 4,
            then: [
                """
                INSERT INTO jobs (id, project, name, spec, priority, state, attempt, submitted_at, fence)
                VALUES ('old-job', 'qfield', 'job', '\(spec)', 0, 'pending', 0, 1000, 3)
                """
            ])
        // when
        let store = try await place.open()
        let job = try await store.job("old-job")
        let before = try await store.adoptions(project: nil)
        let web = Self.adoption("qfield_web_1", service: "web")
        try await store.recordAdoptions([web])
        let after = try await store.adoptions(project: "qfield")
        await store.close()
        // then
        #expect(schemaVersion(store) == 9)
        #expect(job?.fence == 3 && job?.state == .pending)
        #expect(before.isEmpty)
        #expect(after == [web])
    }
}

import BerthAPI
import BerthCore
import BerthStore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@Suite("Job routes") struct JobRouteTests {
    @Test func submitCreatesAJobAndARepeatedKeyReturnsTheFirst() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            // given
            let key: HTTPFields = [HTTPField.Name("Idempotency-Key")!: "order-42"]

            // when
            let first = try await client.call(.post, "/v1/jobs", token: fixture.tokens["jobs"], body: APIFixture.jobYAML("export"), headers: key)
            let again = try await client.call(.post, "/v1/jobs", token: fixture.tokens["jobs"], body: APIFixture.jobYAML("export"), headers: key)

            // then
            #expect(first.status == .created)
            let job = try first.decode(JobView.self)
            #expect(job.state == .pending)
            #expect(job.project == "alpha")
            #expect(job.idempotencyKey == "order-42")
            #expect(first.headers[.location] == "/v1/jobs/\(job.id)")
            #expect(again.status == .ok)
            #expect(try again.decode(JobView.self).id == job.id)
            let stored = try await fixture.store.jobs(filter: JobFilter(project: "alpha"), page: PageRequest())
            #expect(stored.items.count == 1)
        }
        await fixture.finish()
    }

    @Test func aJSONBodyIsReadLikeYAML() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            let body =
                #"{"apiVersion": "berth/v1", "kind": "Job", "metadata": {"name": "j", "project": "beta"}, "spec": {"image": "localhost/berth-busybox:latest", "command": ["true"], "priority": 7}}"#
            let response = try await client.call(.post, "/v1/jobs", token: fixture.tokens["admin"], body: body, contentType: "application/json")
            #expect(response.status == .created)
            let job = try response.decode(JobView.self)
            #expect(job.priority == 7)
            #expect(job.project == "beta")
        }
        await fixture.finish()
    }

    @Test func badBodiesAreRefusedWithTheirReason() async throws {
        let fixture = try await APIFixture(bodyLimit: 4096)
        try await fixture.test { client in
            let token = fixture.tokens["admin"]
            // malformed YAML: 400 with the position
            let malformed = try await client.call(.post, "/v1/jobs", token: token, body: "kind: Job\nmetadata: {name: [\n")
            #expect(malformed.status == .badRequest)
            #expect(try malformed.error()["code"] as? String == "malformed")
            #expect(malformed.errorMessage().contains("line"), "\(malformed.text)")

            // a schema violation: 422 naming the field
            let invalid = try await client.call(.post, "/v1/jobs", token: token, body: APIFixture.jobYAML("j", extra: "  activeDeadline: soon"))
            #expect(invalid.status == .unprocessableContent)
            #expect(try invalid.error()["field"] as? String == "spec.activeDeadline")
            #expect(invalid.errorMessage().contains("duration"), "\(invalid.text)")

            // not a Job
            let service = try await client.call(.post, "/v1/jobs", token: token, body: APIFixture.serviceYAML("web"))
            #expect(service.status == .unprocessableContent)
            #expect(try service.error()["field"] as? String == "kind")

            // too large, wrong media type, two documents
            let large = try await client.call(.post, "/v1/jobs", token: token, body: APIFixture.jobYAML("j", extra: "  labels: {a: \"\(String(repeating: "x", count: 5000))\"}"))
            #expect(large.status == .contentTooLarge)
            #expect(try large.error()["code"] as? String == "too_large")
            let html = try await client.call(.post, "/v1/jobs", token: token, body: "<p>hi</p>", contentType: "text/html")
            #expect(html.status == .unsupportedMediaType)
            let two = try await client.call(.post, "/v1/jobs", token: token, body: APIFixture.jobYAML("a") + "\n---\n" + APIFixture.jobYAML("b"))
            #expect(two.status == .unprocessableContent)

            // a bad idempotency key, bad query parameters
            let emptyKey = try await client.call(.post, "/v1/jobs", token: token, body: APIFixture.jobYAML("j"), headers: [HTTPField.Name("Idempotency-Key")!: String(repeating: "k", count: 201)])
            #expect(emptyKey.status == .badRequest)
            #expect(try emptyKey.error()["field"] as? String == "Idempotency-Key")
            let badState = try await client.call(.get, "/v1/jobs?state=done", token: token)
            #expect(badState.status == .badRequest)
            #expect(try badState.error()["field"] as? String == "state")
            let badLimit = try await client.call(.get, "/v1/jobs?limit=0", token: token)
            #expect(badLimit.status == .badRequest)
        }
        let stored = try await fixture.store.jobs(filter: JobFilter(), page: PageRequest())
        #expect(stored.items.isEmpty, "nothing refused was stored")
        await fixture.finish()
    }

    @Test func listFiltersAndPagesWithACursor() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            // given: five jobs in alpha, one in beta
            for index in 0..<5 {
                _ = try await client.call(.post, "/v1/jobs", token: fixture.tokens["admin"], body: APIFixture.jobYAML("j\(index)"))
            }
            _ = try await client.call(.post, "/v1/jobs", token: fixture.tokens["admin"], body: APIFixture.jobYAML("other", project: "beta"))

            // when: pages of two, oldest first
            var names: [String] = []
            var cursor: String?
            repeat {
                let uri = "/v1/jobs?project=alpha&limit=2&order=oldestFirst" + (cursor.map { "&cursor=\($0)" } ?? "")
                let page = try await client.call(.get, uri, token: fixture.tokens["read"]).decode(ItemsView<JobView>.self)
                names += page.items.map(\.name)
                cursor = page.next
            } while cursor != nil

            // then
            #expect(names == ["j0", "j1", "j2", "j3", "j4"])
            let pending = try await client.call(.get, "/v1/jobs?state=pending,started", token: fixture.tokens["read"]).decode(ItemsView<JobView>.self)
            #expect(pending.items.count == 6)
        }
        await fixture.finish()
    }

    @Test func showCancelLogsAndEventsOfAJob() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            // given
            let job = try await client.call(.post, "/v1/jobs", token: fixture.tokens["jobs"], body: APIFixture.jobYAML("j")).decode(JobView.self)

            // when
            let cancelled = try await client.call(.post, "/v1/jobs/\(job.id)/cancel", token: fixture.tokens["jobs"])
            let shown = try await client.call(.get, "/v1/jobs/\(job.id)", token: fixture.tokens["read"])
            let logs = try await client.call(.get, "/v1/jobs/\(job.id)/logs", token: fixture.tokens["read"])
            let events = try await client.call(.get, "/v1/events?project=alpha&job=\(job.id)", token: fixture.tokens["read"])
            let missing = try await client.call(.get, "/v1/jobs/no-such-job", token: fixture.tokens["read"])

            // then
            #expect(cancelled.status == .ok)
            #expect(try cancelled.decode(JobView.self).state == .cancelled)
            let view = try shown.decode(JobView.self)
            #expect(view.state == .cancelled)
            #expect((view.events ?? []).map(\.reason).contains("Cancelled"), "\(view.events ?? [])")
            #expect(try logs.decode(JobLogsView.self).source == "stored")
            #expect(try events.decode(ItemsView<EventView>.self).items.count == view.events?.count)
            #expect(missing.status == .notFound)
            #expect(try missing.error()["code"] as? String == "not_found")
        }
        await fixture.finish()
    }

    @Test func aWorkerTokenReportsProgressOnItsOwnJobOnly() async throws {
        let fixture = try await APIFixture()
        try await fixture.test { client in
            // given: two running jobs and the worker token of the first
            let first = try await client.call(.post, "/v1/jobs", token: fixture.tokens["admin"], body: APIFixture.jobYAML("a")).decode(JobView.self)
            let second = try await client.call(.post, "/v1/jobs", token: fixture.tokens["admin"], body: APIFixture.jobYAML("b")).decode(JobView.self)
            _ = try await fixture.store.claimJobs(controller: "test", engine: "engine-1", node: nil, limit: 2, projectLimits: [:], lease: .seconds(60))
            let worker = try await fixture.store.createJobToken(jobID: first.id, now: Date()).token

            // when
            let own = try await client.call(.post, "/v1/jobs/\(first.id)/progress", token: worker, body: #"{"message": "rows copied", "percent": 40}"#, contentType: "application/json")
            let read = try await client.call(.get, "/v1/jobs/\(first.id)", token: worker)
            let other = try await client.call(.get, "/v1/jobs/\(second.id)", token: worker)
            let list = try await client.call(.get, "/v1/jobs", token: worker)
            let submit = try await client.call(.post, "/v1/jobs", token: worker, body: APIFixture.jobYAML("c"))
            let badPercent = try await client.call(.post, "/v1/jobs/\(first.id)/progress", token: worker, body: #"{"message": "x", "percent": 140}"#, contentType: "application/json")
            let noMessage = try await client.call(.post, "/v1/jobs/\(first.id)/progress", token: worker, body: #"{"percent": 1}"#, contentType: "application/json")

            // then
            #expect(own.status == .accepted)
            #expect(read.status == .ok)
            #expect((try read.decode(JobView.self).events ?? []).contains { $0.reason == "Progress" && $0.message == "40%: rows copied" })
            #expect(other.status == .forbidden)
            #expect(list.status == .forbidden)
            #expect(submit.status == .forbidden)
            #expect(badPercent.status == .unprocessableContent)
            #expect(try badPercent.error()["field"] as? String == "percent")
            #expect(noMessage.status == .unprocessableContent)
            #expect(try noMessage.error()["field"] as? String == "message")
        }
        await fixture.finish()
    }

    /// The pace itself (a burst, then so many a second) is ProgressPaceTests' to check with
    /// injected times; here a pace slow enough that no machine's load lets a report through early.
    @Test func progressIsTakenAtAPacePerJob() async throws {
        let fixture = try await APIFixture(progressPace: ProgressPace(perSecond: 0.01, burst: 5))
        try await fixture.test { client in
            // given: two running jobs and the worker token of each
            let first = try await client.call(.post, "/v1/jobs", token: fixture.tokens["admin"], body: APIFixture.jobYAML("a")).decode(JobView.self)
            let second = try await client.call(.post, "/v1/jobs", token: fixture.tokens["admin"], body: APIFixture.jobYAML("b")).decode(JobView.self)
            _ = try await fixture.store.claimJobs(controller: "test", engine: "engine-1", node: nil, limit: 2, projectLimits: [:], lease: .seconds(60))
            let worker = try await fixture.store.createJobToken(jobID: first.id, now: Date()).token
            let other = try await fixture.store.createJobToken(jobID: second.id, now: Date()).token

            // when: eight reports, then one of the other job
            var statuses: [HTTPResponse.Status] = []
            var refusal: TestResponse?
            for index in 0..<8 {
                let answer = try await client.call(.post, "/v1/jobs/\(first.id)/progress", token: worker, body: #"{"message": "step \#(index)"}"#, contentType: "application/json")
                statuses.append(answer.status)
                if answer.status == .tooManyRequests, refusal == nil { refusal = answer }
            }
            let neighbour = try await client.call(.post, "/v1/jobs/\(second.id)/progress", token: other, body: #"{"message": "mine"}"#, contentType: "application/json")

            // then: the burst of 5, then refusals saying when to come back; the other job is not held back
            #expect(statuses == Array(repeating: .accepted, count: 5) + Array(repeating: .tooManyRequests, count: 3), "\(statuses)")
            let answer = try #require(refusal, "no 429 among \(statuses)")
            #expect(Int(answer.headers[.retryAfter] ?? "") ?? 0 >= 1, "\(answer.headers)")
            #expect(try answer.error()["code"] as? String == "rate_limited", "\(answer.text)")
            #expect(neighbour.status == .accepted)
            let events = try await fixture.store.job(first.id, events: 100)?.events ?? []
            #expect(events.filter { $0.reason == "Progress" }.count == 5, "only the reports taken are recorded")
        }
        await fixture.finish()
    }
}

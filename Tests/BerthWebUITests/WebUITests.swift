import BerthAPI
import BerthCore
import BerthStore
import BerthWebUI
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// The web UI through the router as `serve` builds it, against a real SQLite store and dockerd.
@Suite("Web UI", .serialized)
struct WebUITests {
    static let pages = ["/ui/", "/ui/services/alpha/web", "/ui/plan", "/ui/jobs", "/ui/cronjobs", "/ui/events", "/ui/certificates", "/ui/nodes"]

    @Test func everyPageRendersForAnAdmin() async throws {
        try await UIFixture.run { fixture, client in
            // given
            let browser = try await Browser.signIn(client, token: try #require(fixture.tokens["admin"]))
            // when
            for page in Self.pages + ["/ui/jobs/\(fixture.alphaJob.id)"] {
                let answer = try await browser.get(page)
                // then
                #expect(answer.status == .ok, "\(page): \(answer.text)")
                #expect(answer.headers[.contentType] == "text/html; charset=utf-8", "\(page)")
                let html = answer.text
                #expect(html.hasPrefix("<!DOCTYPE html>") && html.hasSuffix("</html>"), "\(page)")
                #expect(html.contains("<nav id=\"nav\"") && html.contains("<form id=\"signout\"") && html.contains("<main id=\"main\" data-live=\"/ui/live"), "\(page)")
            }
            let overview = try await browser.get("/ui/").text
            #expect(overview.contains("<tr data-resource=\"service/alpha/web\">") && overview.contains("<tr data-resource=\"service/beta/api\">"))
            #expect(overview.contains("<td class=\"phase phase-Ready\">Ready</td><td class=\"replicas\">1/1</td><td class=\"restarts\">2</td>"))
            #expect(overview.contains("id=\"phase-counts\"") && overview.contains("Ready: 2"))
            let service = try await browser.get("/ui/services/alpha/web").text
            #expect(service.contains("<h1>web</h1>") && service.contains("<tr data-replica=\"0\">") && service.contains("localhost/berth-busybox:latest"))
            #expect(service.contains("<td class=\"container-id\">berth-alpha-web-0 <code title=\"c0ffeealpha0123456789\">c0ffeealpha0</code></td>"), "\(service)")
            #expect(service.contains("<code class=\"image-id\" title=\"sha256:4c1e2f9a0b3d777\(String(repeating: "7", count: 49))\">sha256:4c1e2f9a0b3d</code>"), "\(service)")
            #expect(service.contains("<li data-reason=\"Created\">") && service.contains("id=\"plan-actions\""))
            #expect(!service.contains("<th scope=\"col\">Node</th>"), "one host: no node column")
            let placed = try await browser.get("/ui/services/beta/api").text
            #expect(placed.contains("<th scope=\"col\">Node</th>") && placed.contains("<td class=\"node\">b</td></tr>"), "\(placed)")
            let plan = try await browser.get("/ui/plan").text
            #expect(plan.contains("<section data-project=\"alpha\">") && plan.contains("<li class=\"action\""), "the services are not running: the plan creates them")
            let jobs = try await browser.get("/ui/jobs").text
            #expect(jobs.contains("<form id=\"job-filter\"") && jobs.contains("<tr data-job=\"\(fixture.alphaJob.id)\">") && jobs.contains("<tr data-job=\"\(fixture.betaJob.id)\">"))
            let job = try await browser.get("/ui/jobs/\(fixture.alphaJob.id)").text
            #expect(job.contains("<dd id=\"job-state\" class=\"state-pending\">pending</dd>") && job.contains("<button id=\"cancel-button\""))
            #expect(job.contains("<ol id=\"timeline\">") && job.contains("<pre id=\"logs\"") && !job.contains("id=\"feedback\""))
            let certificates = try await browser.get("/ui/certificates").text
            #expect(certificates.contains("<tr data-resource=\"certificate/alpha/site\">") && certificates.contains("alpha.example, www.alpha.example"))
            let events = try await browser.get("/ui/events").text
            #expect(events.contains("<form id=\"event-filter\"") && events.contains("<td class=\"reason\">Created</td>"))
            let missing = try await browser.get("/ui/services/alpha/nothing")
            #expect(missing.status == .notFound && missing.text.contains("<p class=\"error\" role=\"alert\">"))
            let unknown = try await browser.get("/ui/no/such/page")
            #expect(unknown.status == .notFound && unknown.text.contains("role=\"alert\""))
        }
    }

    @Test func theNodesPageShowsEachNodeAndIsClosedToAProjectLimitedToken() async throws {
        try await UIFixture.run { fixture, client in
            // given: one node that beats, one whose heartbeat is old and that is cordoned
            for name in ["web-1", "gone-1"] {
                try await fixture.store.heartbeat(
                    NodeHeartbeat(
                        node: NodeIdentity(name: name, labels: ["zone": "a"]), engineVersion: "27.5.1", cpus: 2, memoryBytes: 4 << 30, runningJobs: 1,
                        runningReplicas: 3, maxConcurrentJobs: 4, notReadyAfter: name == "gone-1" ? 0.001 : 30))
            }
            try await fixture.store.setNodeScheduling(name: "gone-1", cordoned: true, draining: false)
            let admin = try await Browser.signIn(client, token: try #require(fixture.tokens["admin"]))
            let limited = try await Browser.signIn(client, token: try #require(fixture.tokens["read-alpha"]))
            // when: (gone-1's 1 ms timeout passed during the sign-ins)
            let page = try await admin.get("/ui/nodes").text
            let denied = try await limited.get("/ui/nodes")
            // then
            #expect(page.contains("<table id=\"nodes\">") && page.contains("<tr data-node=\"web-1\"><th scope=\"row\">web-1</th>"), "\(page)")
            #expect(page.contains("<td class=\"state state-Ready\">Ready</td><td class=\"labels\">zone=a</td><td>27.5.1</td><td>2</td><td>4.0 GiB</td><td>1 of 4</td><td>3</td>"), "\(page)")
            #expect(page.contains("<tr data-node=\"gone-1\" class=\"not-ready\">") && page.contains("<td class=\"state state-Cordoned\">Cordoned, NotReady</td>"), "\(page)")
            #expect(page.contains("<a href=\"/ui/nodes\" aria-current=\"page\">Nodes</a>"))
            #expect(denied.status == .forbidden)
        }
    }

    @Test func theJobsListFiltersAndPages() async throws {
        try await UIFixture.run { fixture, client in
            // given: 60 more jobs in alpha, one page and a bit
            for index in 0..<60 {
                _ = try await fixture.store.submitJob(JobSubmission(project: "alpha", name: "batch-\(index)", spec: fixture.alphaJob.spec, labels: ["batch": "yes"]), now: Date())
            }
            let browser = try await Browser.signIn(client, token: try #require(fixture.tokens["admin"]))
            // when
            let first = try await browser.get("/ui/jobs?project=alpha&state=&label=batch%3Dyes&after=&before=").text
            // then
            #expect(first.matches(of: /<tr data-job=/).count == 50)
            #expect(!first.contains("data-job=\"\(fixture.alphaJob.id)\""), "the label filter leaves the unlabelled job out")
            let next = try #require(first.firstMatch(of: /<a id="next-page" href="([^"]+)"/).map { String($0.1).replacingOccurrences(of: "&amp;", with: "&") })
            let second = try await browser.get(next).text
            #expect(second.matches(of: /<tr data-job=/).count == 10 && !second.contains("id=\"next-page\""))
            #expect(second.contains("<a id=\"first-page\" href=\"/ui/jobs?project=alpha&amp;label=batch%3Dyes\">"))
            #expect(try await browser.get("/ui/jobs?state=cancelled").text.matches(of: /<tr data-job=/).isEmpty)
            #expect(try await browser.get("/ui/jobs?after=2999-01-01T00:00").text.matches(of: /<tr data-job=/).isEmpty)
            let bad = try await browser.get("/ui/jobs?after=yesterday")
            #expect(bad.status == .badRequest && bad.text.contains("after is a time"))
            let badState = try await browser.get("/ui/jobs?state=done")
            #expect(badState.status == .badRequest && badState.text.contains("unknown state"))
        }
    }

    @Test func hostileTextIsEscapedOnEveryPage() async throws {
        try await UIFixture.run { fixture, client in
            let browser = try await Browser.signIn(client, token: try #require(fixture.tokens["admin"]))
            for page in ["/ui/", "/ui/services/alpha/web", "/ui/events", "/ui/jobs/\(fixture.alphaJob.id)"] {
                // when
                let html = try await browser.get(page).text
                // then
                #expect(!html.contains("<script>alert"), "\(page) shows the text as markup")
                #expect(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;"), "\(page) shows the text escaped")
            }
        }
    }

    @Test func signedOutPagesRedirectToSignInAndRevealNothing() async throws {
        try await UIFixture.run { fixture, client in
            for page in Self.pages + ["/ui/jobs/\(fixture.alphaJob.id)", "/ui/live", "/ui/jobs/\(fixture.alphaJob.id)/logs/live", "/ui/no/such/page"] {
                for cookies in [[:], ["berth_session": "berth_forged"]] {
                    // when
                    let answer = try await client.get(page, cookies: cookies)
                    // then
                    #expect(answer.status == .seeOther && answer.headers[.location] == "/ui/signin", "\(page)")
                    #expect(!answer.text.contains("alpha") && !answer.text.contains("report"), "\(page)")
                }
            }
            let cancel = try await client.post("/ui/jobs/\(fixture.alphaJob.id)/cancel", form: ["csrf": "x"])
            #expect(cancel.status == .seeOther)
            #expect(try await fixture.store.job(fixture.alphaJob.id)?.state == .pending)
            let signIn = try await client.get("/ui/signin")
            #expect(signIn.status == .ok && signIn.text.contains("<input id=\"token\" name=\"token\" type=\"password\"") && signIn.text.contains("<button id=\"signin\""))
            let css = try await client.get("/ui/assets/berth.css")
            let etag = try #require(css.headers[.eTag])
            #expect(css.status == .ok && css.headers[.contentType] == "text/css; charset=utf-8" && css.text.contains("prefers-color-scheme: dark"))
            let again = try await client.execute(uri: "/ui/assets/berth.css", method: .get, headers: [.ifNoneMatch: etag])
            #expect(again.status == .notModified)
            #expect(try await client.get("/ui/assets/berth.js").text.contains("liveSwaps"))
        }
    }

    @Test func signInRefusesABadTokenAndAFormWithoutItsCSRFValue() async throws {
        try await UIFixture.run { fixture, client in
            // given
            let form = try await client.get("/ui/signin")
            let csrf = try #require(form.cookie("berth_signin_csrf"))
            #expect(form.setCookie("berth_signin_csrf")?.contains("HttpOnly") == true && form.setCookie("berth_signin_csrf")?.contains("SameSite=Strict") == true)
            // when
            let bad = try await client.post("/ui/signin", cookies: ["berth_signin_csrf": csrf], form: ["token": "berth_wrong", "csrf": csrf])
            // then
            #expect(bad.status == .unauthorized && bad.text.contains("<p class=\"error\" role=\"alert\">") && bad.cookie("berth_session") == nil)
            // when: the right token, but the CSRF value missing or not the cookie's
            let admin = try #require(fixture.tokens["admin"])
            let missing = try await client.post("/ui/signin", cookies: ["berth_signin_csrf": csrf], form: ["token": admin])
            let wrong = try await client.post("/ui/signin", cookies: ["berth_signin_csrf": csrf], form: ["token": admin, "csrf": csrf + "0"])
            let noCookie = try await client.post("/ui/signin", form: ["token": admin, "csrf": csrf])
            // then
            for answer in [missing, wrong, noCookie] {
                #expect(answer.status == .forbidden && answer.cookie("berth_session") == nil)
            }
            // when: a good sign-in
            let good = try await client.post("/ui/signin", cookies: ["berth_signin_csrf": csrf], form: ["token": admin, "csrf": csrf])
            // then
            let cookie = try #require(good.setCookie("berth_session"))
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/ui") && cookie.contains("Max-Age=28800") && !cookie.contains("Secure"))
        }
    }

    @Test func aPostWithoutTheSessionsCSRFValueIsRefusedAndCancelsNothing() async throws {
        try await UIFixture.run { fixture, client in
            // given
            let browser = try await Browser.signIn(client, token: try #require(fixture.tokens["admin"]))
            let uri = "/ui/jobs/\(fixture.alphaJob.id)/cancel"
            // when
            let missing = try await browser.post(uri, form: [:])
            let wrong = try await browser.post(uri, form: ["csrf": String(browser.csrf.reversed())])
            // then
            #expect(missing.status == .forbidden && wrong.status == .forbidden)
            #expect(wrong.text.contains("<p class=\"error\" role=\"alert\">"))
            #expect(try await fixture.store.job(fixture.alphaJob.id)?.state == .pending)
            // when: the page's own form
            let cancelled = try await browser.post(uri, form: ["csrf": browser.csrf])
            // then
            #expect(cancelled.status == .seeOther && cancelled.headers[.location] == "/ui/jobs/\(fixture.alphaJob.id)")
            #expect(try await fixture.store.job(fixture.alphaJob.id)?.state == .cancelled)
            let page = try await browser.get("/ui/jobs/\(fixture.alphaJob.id)").text
            #expect(page.contains(">cancelled</dd>") && !page.contains("cancel-button"), "an ended job has no Cancel")
        }
    }

    @Test func aReaderHasNoCancelAndItsForgedPostIsRefused() async throws {
        try await UIFixture.run { fixture, client in
            // given
            let reader = try await Browser.signIn(client, token: try #require(fixture.tokens["read"]))
            // when
            let page = try await reader.get("/ui/jobs/\(fixture.alphaJob.id)")
            let forged = try await reader.post("/ui/jobs/\(fixture.alphaJob.id)/cancel", form: ["csrf": reader.csrf])
            // then
            #expect(page.status == .ok && !page.text.contains("id=\"cancel\"") && !page.text.contains("cancel-button"))
            #expect(forged.status == .forbidden && forged.text.contains("role=\"alert\""))
            #expect(try await fixture.store.job(fixture.alphaJob.id)?.state == .pending)
            // and a job writer may cancel
            let writer = try await Browser.signIn(client, token: try #require(fixture.tokens["jobs"]))
            #expect(try await writer.get("/ui/jobs/\(fixture.alphaJob.id)").text.contains("cancel-button"))
            let overview = try await writer.get("/ui/")
            #expect(overview.status == .seeOther && overview.headers[.location] == "/ui/jobs", "a job writer lands on the jobs list")
            let events = try await writer.get("/ui/events")
            #expect(events.status == .forbidden, "a job writer may not read the state, as in the API")
            #expect(events.text.contains("<form id=\"signout\"") && events.text.contains("role=\"alert\""), "the error page keeps the navigation")
        }
    }

    @Test func aProjectLimitedTokenSeesOnlyItsProject() async throws {
        try await UIFixture.run { fixture, client in
            // given
            let limited = try await Browser.signIn(client, token: try #require(fixture.tokens["read-alpha"]))
            // when
            let overview = try await limited.get("/ui/").text
            let jobs = try await limited.get("/ui/jobs").text
            let events = try await limited.get("/ui/events").text
            let plan = try await limited.get("/ui/plan").text
            // then
            #expect(overview.contains("service/alpha/web") && !overview.contains("beta"))
            #expect(jobs.contains(fixture.alphaJob.id) && !jobs.contains(fixture.betaJob.id))
            #expect(events.contains("created web-0 in alpha") && !events.contains("beta"))
            #expect(plan.contains("data-project=\"alpha\"") && !plan.contains("data-project=\"beta\""))
            for page in ["/ui/?project=beta", "/ui/jobs?project=beta", "/ui/services/beta/api", "/ui/jobs/\(fixture.betaJob.id)", "/ui/events?project=beta", "/ui/live?project=beta"] {
                let answer = try await limited.get(page)
                #expect(answer.status == .forbidden, "\(page)")
                #expect(!answer.text.contains("secret-report") && !answer.text.contains("beta/api"), "\(page)")
            }
        }
    }

    @Test func aSessionEndsOnSignOutOnItsTokensRevocationAndWhenItExpires() async throws {
        try await UIFixture.run { fixture, client in
            // given
            let first = try await Browser.signIn(client, token: try #require(fixture.tokens["admin"]))
            let second = try await Browser.signIn(client, token: try #require(fixture.tokens["admin"]))
            // when: sign-out without the CSRF value, then with it
            #expect(try await first.post("/ui/signout", form: [:]).status == .forbidden)
            let out = try await first.post("/ui/signout", form: ["csrf": first.csrf])
            // then
            #expect(out.status == .seeOther && out.headers[.location] == "/ui/signin" && out.setCookie("berth_session")?.contains("Max-Age=0") == true)
            #expect(try await first.get("/ui/").headers[.location] == "/ui/signin")
            #expect(try await second.get("/ui/").status == .ok)
            // when: the token is revoked
            try await fixture.store.revokeToken(try #require(fixture.tokenIDs["admin"]), now: Date())
            // then
            #expect(try await second.get("/ui/").headers[.location] == "/ui/signin")
            // when: a session that has expired
            let (expired, _) = try await fixture.store.createUISession(tokenID: try #require(fixture.tokenIDs["read"]), lifetime: 60, now: Date().addingTimeInterval(-120))
            // then
            #expect(try await client.get("/ui/", cookies: ["berth_session": expired]).headers[.location] == "/ui/signin")
        }
    }

    @Test func noUIServesNoPages() async throws {
        try await UIFixture.run(ui: nil) { fixture, client in
            let signIn = try await client.get("/ui/signin")
            let overview = try await client.get("/ui/")
            #expect(signIn.status == .notFound && overview.status == .notFound)
        }
    }

    @Test func cookiesAreSecureUnderTLS() async throws {
        try await UIFixture.run(ui: WebUIConfiguration(sessionLifetime: 600, secureCookies: true)) { fixture, client in
            let form = try await client.get("/ui/signin")
            let csrf = try #require(form.cookie("berth_signin_csrf"))
            let good = try await client.post("/ui/signin", cookies: ["berth_signin_csrf": csrf], form: ["token": try #require(fixture.tokens["admin"]), "csrf": csrf])
            let cookie = try #require(good.setCookie("berth_session"))
            #expect(cookie.contains("Secure") && cookie.contains("Max-Age=600"))
        }
    }
}

/// The live streams' parts that end: a finished job's output, and the status watch.
@Suite("Web UI live streams", .serialized)
struct WebUILiveTests {
    @Test func anEndedJobsLogStreamGivesItsOutputThenItsEnd() async throws {
        try await UIFixture.run { fixture, client in
            // given: the pending job cancelled, so it has ended
            _ = try await fixture.store.requestCancel(fixture.alphaJob.id, now: Date())
            let browser = try await Browser.signIn(client, token: try #require(fixture.tokens["read"]))
            // when
            let stream = try await browser.get("/ui/jobs/\(fixture.alphaJob.id)/logs/live")
            // then
            #expect(stream.status == .ok && stream.headers[.contentType] == "text/event-stream")
            #expect(stream.text.hasSuffix("\n\n") && stream.text.contains("event: end\n") && stream.text.contains("\"state\":\"cancelled\""), "\(stream.text)")
            let limited = try await Browser.signIn(client, token: try #require(fixture.tokens["read-alpha"]))
            #expect(try await limited.get("/ui/jobs/\(fixture.betaJob.id)/logs/live").status == .forbidden)
        }
    }

    @Test func theStatusWatchSaysWhenAStatusChangedWithoutAnEvent() async throws {
        try await UIFixture.run { fixture, _ in
            // given
            let watch = StatusWatch(store: fixture.store, project: "alpha", interval: .zero)
            let id = ResourceID(kind: .service, project: "alpha", name: "web")
            // when / then: the first look only remembers
            #expect(try await watch.changed() == false)
            #expect(try await watch.changed() == false)
            var status = try #require(try await fixture.store.status(id))
            status.setCondition(.ready, .false, reason: "Unhealthy", message: "health check failed", now: Date())
            status.phase = .degraded
            try await fixture.store.putStatus(status)
            #expect(try await watch.changed() == true)
            #expect(try await watch.changed() == false)
            // and another project's change is not this watch's
            var other = try #require(try await fixture.store.status(ResourceID(kind: .service, project: "beta", name: "api")))
            other.restartCount += 1
            try await fixture.store.putStatus(other)
            #expect(try await watch.changed() == false)
        }
    }
}

import Foundation
import Testing

/// `berth serve` serves the web UI on the API's listener unless `--no-ui`, with sessions as long
/// as `--ui-session-lifetime` says (the pages themselves are tested in BerthWebUITests and the
/// browser tests).
@Suite("Web UI served", .serialized) struct WebUIServeEndToEndTests {
    @Test func serveServesTheUIOnTheAPIsListenerWithSessionsOfTheGivenLifetime() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given
        try scenario.write("")
        try scenario.startServe(["--ui-session-lifetime", "90m"])
        let url = try await scenario.apiURL()
        let created = try await scenario.berth("token", "create", "--name", "ui", "--scope", "read")
        try #require(created.status == 0, "\(created.stderr)")
        let token = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let jar = scenario.folder.appendingPathComponent("cookies.txt").path
        // when: the sign-in form, then the form posted with its CSRF cookie
        let form = try await Scenario.run("/usr/bin/curl", ["-sS", "-c", jar, url + "/ui/signin"])
        let csrf = try #require(
            try String(contentsOfFile: jar, encoding: .utf8).split(separator: "\n").first { $0.contains("berth_signin_csrf") }?.split(separator: "\t").last.map(String.init))
        let signIn = try await Scenario.run(
            "/usr/bin/curl", ["-sS", "-D", "-", "-o", "/dev/null", "-b", jar, "-c", jar, "--data-urlencode", "token=\(token)", "--data-urlencode", "csrf=\(csrf)", url + "/ui/signin"])
        let overview = try await Scenario.run("/usr/bin/curl", ["-sS", "-b", jar, url + "/ui/"])
        // then
        #expect(form.contains("<input id=\"token\" name=\"token\" type=\"password\""))
        #expect(signIn.contains("303 See Other") && signIn.contains("Location: /ui/"), "\(signIn)")
        #expect(signIn.contains("berth_session=") && signIn.contains("Max-Age=5400") && signIn.contains("HttpOnly") && signIn.contains("SameSite=Strict"), "\(signIn)")
        #expect(overview.contains("<main id=\"main\" data-live=\"/ui/live\">") && overview.contains("<nav id=\"nav\""), "\(overview)")
        #expect(!scenario.serveLog.contains(token), "the token never appears in the log")
    }

    @Test func noUIServesTheAPIOnly() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // given
        try scenario.write("")
        try scenario.startServe(["--no-ui"])
        let url = try await scenario.apiURL()
        // when
        let page = try await Scenario.run("/usr/bin/curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code}", url + "/ui/signin"])
        let health = try await Scenario.run("/usr/bin/curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code}", url + "/healthz"])
        // then
        #expect(page == "404" && health == "200")
    }

    @Test func aSessionLifetimeOfNothingIsRefusedNamingTheFlag() async throws {
        let scenario = try await Scenario()
        defer { scenario.finish() }
        // when
        let result = try await scenario.berth("serve", "-f", scenario.manifests.path, "--listen", "127.0.0.1:0", "--ui-session-lifetime", "0s")
        // then
        #expect(result.status != 0 && result.stderr.contains("--ui-session-lifetime"), "\(result.stderr)")
    }
}

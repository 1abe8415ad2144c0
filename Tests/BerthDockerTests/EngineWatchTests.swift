import BerthCore
import Foundation
import Testing

@testable import BerthDocker

/// What wakes the controller: `DockerEngine.events()` lets through events about Berth's objects
/// and about compose's containers (adopted ones carry compose's labels, not Berth's), nothing else.
@Suite("Engine watch of the controller")
struct EngineWatchTests {
    /// Names of the containers the watch delivered events about, in order.
    actor Seen {
        var names: [String] = []
        func add(_ name: String) { names.append(name) }
    }

    @Test func wakesForBerthAndComposeContainersOnly() async throws {
        try await withTestEngine { engine in
            // given: a watch, and three containers made one after another: a stranger's, a compose
            // one, a Berth one
            let seen = Seen()
            let watch = Task {
                for try await item in DockerEngine(client: engine.client).events() {
                    if case .event(let event) = item, event.type == "container", let name = event.attributes["name"] { await seen.add(name) }
                }
            }
            defer { watch.cancel() }
            let stranger = engine.name("stranger"), compose = engine.name("compose"), berth = engine.name("berth")
            // The watch is open once a marker it lets through shows up.
            let marker = engine.name("marker")
            _ = try await engine.client.createContainer(name: marker, engine.request(["true"], labels: [LabelKey.managed: "true"]))
            try await engine.eventually(30, "the watch shows the marker") { await seen.names.contains(marker) }
            // when
            _ = try await engine.client.createContainer(name: stranger, engine.request(["true"]))
            _ = try await engine.client.createContainer(name: compose, engine.request(["true"], labels: [ComposeLabel.project: engine.scope]))
            _ = try await engine.client.createContainer(name: berth, engine.request(["true"], labels: [LabelKey.managed: "true"]))
            try await engine.eventually(30, "the watch shows the Berth container") { await seen.names.contains(berth) }
            // then: the compose one woke it, the stranger's (made before both) did not
            let names = await seen.names
            #expect(names.contains(compose), "\(names)")
            #expect(!names.contains(stranger), "\(names)")
        }
    }

    @Test func theRawLineLookFindsALabelAnywhereAndOnlyWhole() {
        let needle = Array("\"berth.managed\":\"true\"".utf8)
        func find(_ text: String) -> Bool { DockerEngine.find(needle, in: Array(text.utf8)) }
        #expect(find(#"{"Actor":{"Attributes":{"berth.managed":"true","name":"x"}}}"#))
        #expect(find(#""berth.managed":"true""#))
        #expect(!find(#"{"Actor":{"Attributes":{"berth.managed":"false"}}}"#))
        #expect(!find(#"{"Attributes":{"note":"\"berth.managed\":\"true\""}}"#))
        #expect(!find(#""berth.managed":"tru"#))
        #expect(!find(""))
        #expect(DockerEngine.find([], in: []))
    }
}

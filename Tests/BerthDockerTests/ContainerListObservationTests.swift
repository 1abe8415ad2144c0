import BerthCore
import Foundation
import Testing

@testable import BerthDocker

/// Observing from the container list alone: which rows suffice, and what they say.
@Suite("Observation from the container list")
struct ContainerListObservationTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func summary(state: String, status: String) throws -> ContainerSummary {
        let json = """
            {"Id": "abc", "Names": ["/berth-shop-web-0"], "Image": "busybox", "State": "\(state)", "Status": "\(status)",
             "Labels": {"berth.managed": "true", "berth.replica": "0"},
             "Mounts": [{"Type": "volume", "Name": "berth-shop-data"}, {"Type": "bind", "Source": "/etc"}]}
            """
        return try JSONDecoder().decode(ContainerSummary.self, from: Data(json.utf8))
    }

    @Test(arguments: [
        ("Up Less than a second", 0.0), ("Up 1 second", 1), ("Up 42 seconds", 42), ("Up About a minute", 60),
        ("Up 5 minutes (healthy)", 300), ("Up About an hour (health: starting)", 3600), ("Up 3 hours", 10800),
        ("Up 2 days", 172_800), ("Up 3 weeks", 1_814_400), ("Up 2 months", 5_184_000),
    ])
    func uptimeIsReadFromTheEnginesWords(status: String, seconds: Double) {
        #expect(EngineStatusText.uptime(status) == seconds)
    }

    @Test func sentencesThatAreNotUptimesGiveNothing() {
        #expect(EngineStatusText.uptime("Exited (1) 2 seconds ago") == nil)
        #expect(EngineStatusText.uptime("Created") == nil)
        #expect(EngineStatusText.uptime("Up soon") == nil)
    }

    @Test func aRunningHealthyRowIsEnough() throws {
        // when
        let observed = try #require(ObservedContainer(try Self.summary(state: "running", status: "Up 5 minutes (healthy)"), now: Self.now))
        // then
        #expect(observed.name == "berth-shop-web-0")
        #expect(observed.state == .running)
        #expect(observed.health == .healthy)
        #expect(observed.replica == 0)
        #expect(observed.volumeNames == ["berth-shop-data"])
        #expect(observed.startedAt == Self.now.addingTimeInterval(-300))
    }

    @Test func aStartingHealthCheckOrNoneIsRead() throws {
        #expect(ObservedContainer(try Self.summary(state: "running", status: "Up 2 seconds (health: starting)"), now: Self.now)?.health == .starting)
        let unchecked = ObservedContainer(try Self.summary(state: "running", status: "Up 2 seconds"), now: Self.now)
        #expect(unchecked != nil && unchecked?.health == nil)
    }

    @Test(arguments: [
        ("running", "Up 2 minutes (unhealthy)"), ("exited", "Exited (137) 3 seconds ago"), ("created", "Created"), ("paused", "Up 2 minutes (Paused)"), ("restarting", "Restarting (1) 1 second ago"),
    ])
    func everyOtherRowAsksForAnInspection(state: String, status: String) throws {
        #expect(ObservedContainer(try Self.summary(state: state, status: status), now: Self.now) == nil)
    }
}

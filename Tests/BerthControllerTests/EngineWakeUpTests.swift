import BerthCore
import Foundation
import Testing

@testable import BerthController
@testable import BerthDocker

@Suite("Which engine events wake a pass")
struct EngineWakeUpTests {
    private func event(_ type: String, _ action: String, kind: ObjectKind? = nil) -> EngineEvent {
        var attributes = [LabelKey.managed: "true", "name": "berth-p-x"]
        attributes[LabelKey.kind] = kind?.rawValue
        return EngineEvent(type: type, action: action, actorID: "c1", attributes: attributes, timeNano: 1)
    }

    @Test func aServiceContainersLifecycleWakesAPassAndItsExecsDoNot() {
        for action in ["create", "start", "die", "destroy", "oom", "health_status: unhealthy"] {
            #expect(Controller.changesState(event("container", action, kind: .service), jobsMatter: false), "\(action)")
        }
        #expect(!Controller.changesState(event("container", "exec_start: test -f /tmp/ok", kind: .service), jobsMatter: false))
    }

    @Test func aJobContainersEventsWakeNoPassUnlessAWaitMayEndWithThem() {
        for action in ["create", "start", "die", "destroy"] {
            #expect(!Controller.changesState(event("container", action, kind: .job), jobsMatter: false), "\(action)")
            #expect(Controller.changesState(event("container", action, kind: .job), jobsMatter: true), "\(action)")
        }
    }

    @Test func volumeAndNetworkEventsAlwaysWakeAPass() {
        #expect(Controller.changesState(event("volume", "destroy"), jobsMatter: false))
        #expect(Controller.changesState(event("network", "destroy"), jobsMatter: false))
    }
}

import Foundation
import Testing
@testable import BerthCore

/// SplitMix64: a small, seeded generator so every failing case can be replayed from its seed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("Convergence property: apply the plan, plan again, nothing left")
struct ConvergencePropertyTests {
    static let seeds: [UInt64] = Array(1...400)

    @Test(arguments: seeds)
    func applyingThePlanConverges(seed: UInt64) throws {
        var random = SeededGenerator(seed: seed)
        let (old, desired) = try Self.randomDesiredStates(&random)
        var world = InMemoryWorld(try Self.randomObserved(from: old, desired: desired, &random))

        var now = Fixture.now
        let first = Planner.plan(desired: desired, observed: world.observed, now: now, history: world.history)
        world.apply(first, at: now)
        // Backoff waits are the only thing allowed to remain: let their time pass and apply once more.
        now = first.nextWakeUp ?? now
        let second = Planner.plan(desired: desired, observed: world.observed, now: now, history: world.history)
        world.apply(second, at: now)
        let last = Planner.plan(desired: desired, observed: world.observed, now: now, history: world.history)

        #expect(last.isEmpty, "seed \(seed): still planned\n\(last)\nafter\n\(first)\n\(second)")
        let names = world.observed.containers.map(\.name)
        #expect(Set(names).count == names.count, "seed \(seed): duplicate names \(names)")
        #expect(!names.contains(where: { $0.hasSuffix("-old") }), "seed \(seed): an outgoing replica was left behind")
        for (id, spec) in desired.services {
            let waiting = last.waits.contains(where: { $0.resource == id })
            let expected = (0..<spec.replicas).map { ObjectName.serviceContainer(project: id.project, service: id.name, replica: $0) }
            let present = names.filter { $0.hasPrefix("berth-\(id.project)-\(id.name)-") }.sorted()
            #expect(waiting || present == expected.sorted(), "seed \(seed): \(id) has \(present), wants \(expected)")
            let hashes = world.observed.containers.filter { present.contains($0.name) }.map(\.specHash)
            #expect(waiting || hashes.allSatisfy({ $0 == desired.specHashes[id] }), "seed \(seed): \(id) left a drifted replica")
        }
    }

    /// Two generations of one random stack: what was applied before, and what is desired now.
    static func randomDesiredStates(_ random: inout SeededGenerator) throws -> (DesiredState, DesiredState) {
        let names = ["api", "db", "cache", "web", "worker", "proxy"].shuffled(using: &random).prefix(Int.random(in: 1...6, using: &random))
        var older: [Resource] = [Fixture.project("shop"), Fixture.volume("data"), Fixture.volume("tmp", reclaim: .delete)]
        var newer = older
        for (index, name) in names.enumerated() {
            // Depend only on earlier names, so the graph has no cycles.
            let dependsOn = names.prefix(index).filter { _ in Bool.random(using: &random) && Bool.random(using: &random) }
            for generation in 0..<2 {
                let service = try Fixture.service(
                    name,
                    replicas: Int.random(in: 0...3, using: &random),
                    image: Bool.random(using: &random) ? "example/\(name):1" : "example/\(name):2",
                    env: ["MODE": .literal(Bool.random(using: &random) ? "a" : "b")],
                    volumes: Bool.random(using: &random) ? ["data:/data"] : [],
                    ports: generation == 0 && Bool.random(using: &random) ? ["\(9000 + index)"] : [],
                    healthcheck: Bool.random(using: &random),
                    restart: [.always, .onFailure, .never].randomElement(using: &random)!,
                    dependsOn: dependsOn.map { Dependency(name: $0, condition: .started) }
                )
                if generation == 0 { older.append(service) } else { newer.append(service) }
            }
        }
        return (try DesiredState.validate(older), try DesiredState.validate(newer))
    }

    /// Containers from the older generation in random states, plus orphans, leftovers and strays.
    static func randomObserved(from old: DesiredState, desired: DesiredState, _ random: inout SeededGenerator) throws -> ObservedState {
        var observed = ObservedState()
        for (id, spec) in old.services {
            let resource = try #require(old.resource(id))
            for replica in 0..<(spec.replicas + Int.random(in: 0...1, using: &random)) where Int.random(in: 0...4, using: &random) > 0 {
                let states: [ObservedContainer.State] = [.running, .running, .exited, .created, .dead]
                let state = states.randomElement(using: &random)!
                var container = Fixture.container(
                    for: resource, in: old, replica: replica, state: state,
                    exitCode: state == .exited ? Int.random(in: 0...2, using: &random) : nil
                )
                if spec.healthcheck != nil, state == .running {
                    container.health = [.healthy, .unhealthy, .starting].randomElement(using: &random)!
                }
                if Int.random(in: 0...9, using: &random) == 0 {
                    container.name += "-old" // an update interrupted after its rename
                }
                observed.containers.append(container)
            }
        }
        if Bool.random(using: &random) {
            let retired = try Fixture.service("retired")
            observed.containers.append(Fixture.container(for: retired, in: try DesiredState.validate([Fixture.project("shop"), retired])))
        }
        for volume in ["data", "tmp"] where Bool.random(using: &random) {
            let id = ResourceID(kind: .volume, project: "shop", name: volume)
            observed.volumes.append(
                ObservedVolume(
                    name: ObjectName.volume(project: "shop", name: volume),
                    labels: [
                        LabelKey.managed: "true", LabelKey.project: "shop", LabelKey.kind: "volume", LabelKey.name: volume,
                        LabelKey.specHash: try #require(old.specHashes[id]),
                        LabelKey.reclaimPolicy: volume == "tmp" ? "Delete" : "Retain",
                    ]))
        }
        return observed
    }
}

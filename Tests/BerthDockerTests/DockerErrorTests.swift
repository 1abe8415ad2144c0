import BerthDocker
import Testing

/// What the adapter makes of the engine's refusals.
@Suite("Docker errors")
struct DockerErrorTests {
    @Test func aStartRefusedForAStaleTaskIsToldApartFromOtherConflicts() {
        // given: the engine's answers, as a start after a dockerd restart got them (scripts/chaos)
        let stale = DockerError(
            .engine, "start container berth-chaos-web-0: task 6ea19598f4d53773420e1e7886188fe1544bbaf0c633424f0681f29717254eec: already exists", status: 500)
        let staleDirectory = DockerError(
            .engine,
            "start container berth-chaos-web-0: failed to start shim: mkdir /run/docker/containerd/daemon/io.containerd.runtime.v2.task/moby/c1f4bc1c20dc956b: file exists: unknown",
            status: 500)
        let otherShim = DockerError(.engine, "start container berth-chaos-web-0: failed to start shim: exec: \"containerd-shim-runc-v2\": not found", status: 500)
        let nameInUse = DockerError(.conflict, "create container web: Conflict. The container name \"/web\" is already in use", status: 409)
        let volume = DockerError(.engine, "create volume data: volume data already exists", status: 500)
        let away = DockerError(.engine, "start container berth-chaos-web-0: transport is closing: unavailable", status: 500)
        // then
        #expect(stale.isStaleTask && staleDirectory.isStaleTask)
        #expect(!nameInUse.isStaleTask && !volume.isStaleTask && !away.isStaleTask && !otherShim.isStaleTask)
    }
}

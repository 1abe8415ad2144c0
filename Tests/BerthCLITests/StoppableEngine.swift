import Foundation
import Synchronization

/// A Docker engine a test starts and stops itself, for a host whose engine dies: a dockerd in the
/// host's network namespace with no bridge and no iptables (so its containers use network none
/// or host only), its socket, data and exec roots under a short folder of its own (unix socket
/// paths are limited to 108 bytes), and the suite's busybox image copied from the suite's engine.
/// `stop()` ends it by its PID, `start()` starts it again on the same data (a host that comes
/// back); `finish()` also removes its folder.
final class StoppableEngine: Sendable {
    /// `unix://…/d.sock`, as `DOCKER_HOST` reads it.
    let dockerHost: String
    private let root: URL
    private let process: Mutex<ChildProcess?>

    /// Starts the engine and waits (bounded) until it answers and holds `image`, copied with
    /// `docker save | docker load` from the engine at `source`.
    init(copying image: String, from source: String) async throws {
        root = URL(fileURLWithPath: "/tmp/be-" + UUID().uuidString.lowercased().prefix(8))
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        dockerHost = "unix://\(root.path)/d.sock"
        process = Mutex(nil)
        do {
            try await start()
            let copied = try await BerthProcess.runCommand(
                ["/bin/sh", "-c", "docker -H \"$1\" save \"$3\" | docker -H \"$2\" load", "sh", source, dockerHost, image], timeout: 120)
            guard copied.status == 0 else { throw BerthProcess.SetupError("copying \(image) to the test's dockerd failed: \(copied.stderr)") }
        } catch {
            await finish()
            throw error
        }
    }

    /// Starts the engine (again) on its folder and waits, bounded, until it answers.
    func start() async throws {
        let log = root.appendingPathComponent("dockerd.log").path
        let started = try ChildProcess(
            [
                "/usr/sbin/dockerd", "--host", dockerHost, "--data-root", root.path + "/data", "--exec-root", root.path + "/exec",
                "--pidfile", root.path + "/dockerd.pid", "--bridge=none", "--iptables=false", "--ip6tables=false", "--ip-forward=false",
                "--ip-masq=false", "--userland-proxy=false",
            ], environment: BerthProcess.childEnvironment([:]), directory: root.path, stdout: log, stderr: log, append: true)
        process.withLock { $0 = started }
        try await NetnsEngine.waitUntil(timeout: .seconds(60), "the test's own dockerd answers") {
            try await docker(["version"]).status == 0
        }
    }

    /// The docker CLI against this engine, whatever its exit status.
    func docker(_ arguments: [String]) async throws -> CommandResult {
        try await BerthProcess.runCommand(["/usr/local/bin/docker", "-H", dockerHost] + arguments, timeout: 60)
    }

    /// Whether the engine process has ended.
    var hasStopped: Bool { process.withLock { $0?.hasExited ?? true } }

    /// Stops the engine by its PID: SIGTERM (it stops its containers), SIGKILL after 30 s.
    func stop() async {
        await process.withLock { $0 }?.stop(SIGTERM, grace: .seconds(30))
    }

    /// Stops the engine if it still runs, unmounts what it left under its folder and removes it.
    func finish() async {
        await stop()
        let mounts = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        let points = mounts.split(separator: "\n").compactMap { line -> String? in
            let fields = line.split(separator: " ")
            return fields.count > 4 && fields[4].hasPrefix(root.path + "/") ? String(fields[4]) : nil
        }
        for point in Set(points).sorted(by: >) { _ = try? await BerthProcess.runCommand(["/usr/bin/umount", "-l", point], timeout: 30) }
        try? FileManager.default.removeItem(at: root)
    }
}

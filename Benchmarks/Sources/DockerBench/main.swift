import BerthDocker
import Foundation

// Measures BerthDocker's own overhead against the engine's cost, side by side in one run:
// request latency against curl's command line on a kept-alive connection, and
// create+start+remove against the same calls as raw HTTP from curl (the engine's ceiling) and
// through the docker CLI, at 1, 4 and 8 concurrent creators.
// Usage: DockerBench <unix socket path> <image>   (scripts/bench docker starts a private dockerd)

let arguments = CommandLine.arguments
guard arguments.count == 3 else {
    FileHandle.standardError.write(Data("usage: DockerBench SOCKET IMAGE\n".utf8))
    exit(2)
}
let socket = arguments[1]
let image = arguments[2]
let client = DockerClient(endpoint: try DockerEndpoint(host: "unix://\(socket)"))

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? .nan : sorted[sorted.count / 2]
}

func milliseconds(_ seconds: Double) -> String { String(format: "%.3f ms", seconds * 1000) }

/// Runs a program and returns its standard output.
@Sendable func run(_ program: String, _ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: program)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: output, as: UTF8.self)
}

/// Runs a program, its output discarded, and returns its exit status.
@Sendable func exitStatus(_ program: String, _ arguments: [String]) throws -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: program)
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    return process.terminationStatus
}

/// Per-request latency through BerthDocker, sequential, after a warm-up.
func clientLatency(_ count: Int, _ call: () async throws -> Void) async throws -> Double {
    for _ in 0..<20 { try await call() }
    var samples: [Double] = []
    for _ in 0..<count {
        let start = ContinuousClock.now
        try await call()
        let elapsed = ContinuousClock.now - start
        samples.append(Double(elapsed.components.attoseconds) / 1e18 + Double(elapsed.components.seconds))
    }
    return median(samples)
}

/// Per-request latency through one curl process reusing its connection (`-w` prints each transfer's time).
func curlLatency(_ count: Int, path: String) throws -> Double {
    // `-o` applies to one URL only: give every URL its own, so bodies never mix with the timings.
    let urls = Array(repeating: ["http://localhost\(path)", "-o", "/dev/null"], count: count + 20).flatMap { $0 }
    let output = try run("/usr/bin/curl", ["-s", "-w", "%{time_total}\n", "--unix-socket", socket] + urls)
    return median(output.split(separator: "\n").dropFirst(20).compactMap { Double($0) })
}

let version = try await client.apiVersion()
print("## Docker client overhead (engine API \(version), \(ProcessInfo.processInfo.activeProcessorCount) cores)\n")

// Twenty idle containers, so listing returns something real.
var idle: [String] = []
for index in 0..<20 {
    idle.append(try await client.createContainer(name: "bench-idle-\(index)", ContainerCreateRequest(image: image, cmd: ["true"], hostConfig: .init(networkMode: "none"))))
}

let pingClient = try await clientLatency(2000) { _ = try await client.ping() }
let pingCurl = try curlLatency(2000, path: "/_ping")
let listClient = try await clientLatency(500) { _ = try await client.listContainers() }
let listCurl = try curlLatency(500, path: "/v\(version)/containers/json?all=1")
print("| request (median of sequential calls) | BerthDocker | curl CLI, kept-alive | ratio |")
print("| --- | --- | --- | --- |")
print("| GET /_ping | \(milliseconds(pingClient)) | \(milliseconds(pingCurl)) | \(String(format: "%.2f", pingClient / pingCurl)) |")
print("| GET /containers/json (20 containers) | \(milliseconds(listClient)) | \(milliseconds(listCurl)) | \(String(format: "%.2f", listClient / listCurl)) |")
for id in idle { try await client.removeContainer(id, force: true) }

/// Containers per second for `total` create+start+remove cycles spread over `workers`.
func cyclesThroughClient(total: Int, workers: Int, client: DockerClient, image: String) async throws -> Double {
    let start = Date()
    try await withThrowingTaskGroup(of: Void.self) { group in
        for worker in 0..<workers {
            group.addTask {
                for index in stride(from: worker, to: total, by: workers) {
                    let name = "bench-c-\(workers)-\(index)"
                    let id = try await client.createContainer(name: name, ContainerCreateRequest(image: image, cmd: ["sleep", "30"], hostConfig: .init(networkMode: "none")))
                    try await client.startContainer(id)
                    try await client.removeContainer(id, force: true)
                }
            }
        }
        try await group.waitForAll()
    }
    return Double(total) / Date().timeIntervalSince(start)
}

func cyclesThroughCLI(total: Int, workers: Int, socket: String, image: String) throws -> Double {
    let start = Date()
    let group = DispatchGroup()
    let failures = LockedCounter()
    for worker in 0..<workers {
        DispatchQueue.global().async(group: group) {
            for index in stride(from: worker, to: total, by: workers) {
                let name = "bench-cli-\(workers)-\(index)"
                let host = ["-H", "unix://\(socket)"]
                do {
                    _ = try run("/usr/bin/docker", host + ["create", "--name", name, "--network", "none", image, "sleep", "30"])
                    _ = try run("/usr/bin/docker", host + ["start", name])
                    _ = try run("/usr/bin/docker", host + ["rm", "-f", name])
                } catch {
                    failures.increment()
                }
            }
        }
    }
    group.wait()
    precondition(failures.value == 0, "docker CLI failed")
    return Double(total) / Date().timeIntervalSince(start)
}

/// The same three calls as raw HTTP from curl (one process per cycle, its three requests on one
/// kept-alive connection): the engine's own ceiling, with next to nothing on the client side.
func cyclesThroughCurl(total: Int, workers: Int, socket: String, image: String, version: String) throws -> Double {
    let start = Date()
    let group = DispatchGroup()
    let failures = LockedCounter()
    let body = #"{"Image":"\#(image)","Cmd":["sleep","30"],"HostConfig":{"NetworkMode":"none"}}"#
    for worker in 0..<workers {
        DispatchQueue.global().async(group: group) {
            for index in stride(from: worker, to: total, by: workers) {
                let name = "bench-curl-\(workers)-\(index)"
                let base = "http://localhost/v\(version)/containers"
                let common = ["-s", "-f", "-o", "/dev/null", "--unix-socket", socket]
                do {
                    // -f: an HTTP error fails curl, which then exits non-zero.
                    let status = try exitStatus(
                        "/usr/bin/curl",
                        common + ["-X", "POST", "-H", "Content-Type: application/json", "-d", body, "\(base)/create?name=\(name)"]
                            + ["--next"] + common + ["-X", "POST", "\(base)/\(name)/start"]
                            + ["--next"] + common + ["-X", "DELETE", "\(base)/\(name)?force=1"])
                    if status != 0 { failures.increment() }
                } catch {
                    failures.increment()
                }
            }
        }
    }
    group.wait()
    precondition(failures.value == 0, "curl cycles failed")
    return Double(total) / Date().timeIntervalSince(start)
}

/// A counter shared by the CLI workers.
final class LockedCounter: @unchecked Sendable {
    // SAFETY: every access holds `lock`.
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}

func rate(_ perSecond: Double, _ workers: Int) -> String {
    "\(String(format: "%.1f", perSecond))/s (\(milliseconds(Double(workers) / perSecond)) each)"
}

print("\n| create+start+remove, 24 containers | BerthDocker | raw API (curl) | docker CLI | BerthDocker ÷ raw API | BerthDocker ÷ CLI |")
print("| --- | --- | --- | --- | --- | --- |")
for workers in [1, 4, 8] {
    let throughClient = try await cyclesThroughClient(total: 24, workers: workers, client: client, image: image)
    let throughCurl = try cyclesThroughCurl(total: 24, workers: workers, socket: socket, image: image, version: "\(version)")
    let throughCLI = try cyclesThroughCLI(total: 24, workers: workers, socket: socket, image: image)
    print(
        "| \(workers) concurrent | \(rate(throughClient, workers)) | \(rate(throughCurl, workers)) | \(rate(throughCLI, workers)) | \(String(format: "%.2f", throughClient / throughCurl)) | \(String(format: "%.2f", throughClient / throughCLI)) |"
    )
}

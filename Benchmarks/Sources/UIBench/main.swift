import BerthAPI
import BerthCore
import BerthStore
import BerthWebUI
import Foundation

// Server-side render time of the web UI's heaviest pages (issue 21), run by scripts/bench-ui:
// the overview of 1,000 services, and the jobs list out of 100,000 stored jobs (its first page
// and one halfway down, page 1,001 of 2,000). Each figure is what the route does between the
// request and its body, the store's read included: `statuses` (or `jobs(filter:page:)`) on a
// SQLite file, then the page rendered to its text. The render alone is reported beside it.
//
//   UIBench FOLDER [SERVICES] [JOBS] [REPEATS]      defaults 1000 100000 50

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("UIBench: \(message)\n".utf8))
    exit(2)
}

func milliseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
}

/// The median and the slowest of `repeats` timings of `work`, and what its last run returned.
func measure(_ repeats: Int, _ work: () async throws -> String) async throws -> (median: Double, max: Double, page: String) {
    var samples: [Double] = []
    var page = ""
    let clock = ContinuousClock()
    for _ in 0..<repeats {
        let start = clock.now
        page = try await work()
        samples.append(milliseconds(clock.now - start))
    }
    samples.sort()
    return (samples[samples.count / 2], samples[samples.count - 1], page)
}

let arguments = CommandLine.arguments.dropFirst()
guard let folder = arguments.first else { fail("usage: UIBench FOLDER [SERVICES] [JOBS] [REPEATS]") }
let numbers = arguments.dropFirst().map { text in
    guard let number = Int(text), number > 0 else { fail("not a positive number: \(text)") }
    return number
}
let services = numbers.first ?? 1000
let jobCount = numbers.dropFirst().first ?? 100_000
let repeats = numbers.dropFirst(2).first ?? 50

let store = try await SQLiteStore.open(.init(path: "\(folder)/ui.sqlite"))
let now = Date()

// 1,000 services over 10 projects, each with a replica on its project's network and a Ready condition.
for index in 0..<services {
    let project = "project-\(index % 10)"
    let name = "service-\(index)"
    try await store.putStatus(
        ResourceStatus(
            id: ResourceID(kind: .service, project: project, name: name), phase: index.isMultiple(of: 50) ? .progressing : .ready,
            conditions: [Condition(type: .ready, status: .true, reason: "Running", message: "1/1 replicas ready", lastTransition: now)],
            restartCount: index % 4, readyReplicas: 1, desiredReplicas: 1,
            replicas: [
                ReplicaStatus(
                    container: "\(project)-\(name)-0", state: "running",
                    networks: [ObservedEndpoint(network: "berth-\(project)-default", ipv4Address: "10.0.\(index / 250).\(index % 250 + 2)")], ports: [])
            ],
            lastAction: "createContainer \(name)-0", lastCause: "missing", updatedAt: now
        ))
}

// 100,000 jobs over 10 projects, submitted as an application would.
let spec = JobSpec(container: ContainerSpec(image: try ImageReference(parsing: "registry.example/qfield/worker:3.4"), command: ["./run", "--mode", "full"]))
let filling = ContinuousClock.now
for index in 0..<jobCount {
    _ = try await store.submitJob(
        JobSubmission(project: "project-\(index % 10)", name: "process-\(index)", spec: spec, labels: ["kind": index.isMultiple(of: 2) ? "export" : "import"]),
        now: now.addingTimeInterval(Double(index) / 1000))
}
FileHandle.standardError.write(Data("UIBench: \(services) statuses and \(jobCount) jobs stored in \(Int(milliseconds(ContinuousClock.now - filling))) ms\n".utf8))

let firstPage = PageRequest(limit: 50)
var deep = firstPage
// Halfway down the list: page 1,001 of 2,000 at 100,000 jobs.
let depth = jobCount / 100
for _ in 0..<depth {
    guard let cursor = try await store.jobs(filter: JobFilter(), page: deep).nextCursor else { fail("fewer than \(depth + 1) pages of jobs") }
    deep.cursor = cursor
}

let statuses = try await store.statuses(project: nil)
let firstJobs = try await store.jobs(filter: JobFilter(), page: firstPage)
let deepJobs = try await store.jobs(filter: JobFilter(), page: deep)
let rows: [(String, (median: Double, max: Double, page: String), (median: Double, max: Double, page: String))] = [
    (
        "overview, \(services) services",
        try await measure(repeats) { PageRendering.overview(StatusListView(items: try await store.statuses(project: nil)), now: now) },
        try await measure(repeats) { PageRendering.overview(StatusListView(items: statuses), now: now) }
    ),
    (
        "jobs list, first page of \(jobCount)",
        try await measure(repeats) { PageRendering.jobs(try await store.jobs(filter: JobFilter(), page: firstPage), now: now) },
        try await measure(repeats) { PageRendering.jobs(firstJobs, now: now) }
    ),
    (
        "jobs list, page \(depth + 1) of \(jobCount)",
        try await measure(repeats) { PageRendering.jobs(try await store.jobs(filter: JobFilter(), page: deep), now: now) },
        try await measure(repeats) { PageRendering.jobs(deepJobs, now: now) }
    ),
]
print("| page | read + render, median | slowest | render alone, median | page size |")
print("| --- | ---: | ---: | ---: | ---: |")
for (name, whole, render) in rows {
    print("| \(name) | \(String(format: "%.2f", whole.median)) ms | \(String(format: "%.2f", whole.max)) ms | \(String(format: "%.2f", render.median)) ms | \(whole.page.utf8.count) bytes |")
}
await store.close()

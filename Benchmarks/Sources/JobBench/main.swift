import BerthController
import BerthCore
import BerthDocker
import BerthStore
import Foundation
import Synchronization

// The job queue benchmark of issue 6 (docs/benchmarks.md, "Job queue"), in one run against a
// private dockerd (scripts/bench-jobs starts it, and a throwaway PostgreSQL cluster):
//
// 1. Pickup latency: jobs submitted one at a time to an idle `JobRunner`; from the submit call to
//    `createJobContainer` being called (the create request issued) and to `startContainer`
//    returning (the worker runs). Each job is interleaved with the engine's own create+start of the
//    same container (the floor), with and without the scratch volume Berth gives every job.
// 2. Throughput: trivial jobs (`true`) end to end through `JobRunner` (submit, create, start, wait,
//    collect, remove) against a raw loop of the same engine calls (create, start, wait, logs,
//    remove) at the same concurrency, in alternating rounds so both see the same machine load.
// 3. The cost of every engine and store call the runner makes, from wrappers around its
//    `JobRuntime` and `Store` that forward each call and time it.
// 4. Concurrency keys (issue 20): KEYS × JOBS_PER_KEY trivial jobs with a concurrency key each
//    (limit 1, submitted round-robin over the keys) against as many without keys, through the
//    same runner, in alternating rounds; the throughput ratio.
// 5. Webhook delivery latency (issue 20): from a job's recorded end to its webhook's arrival at a
//    receiver on 127.0.0.1 (WebhookLatency.swift).
//
// Usage: JobBench SOCKET IMAGE WORKDIR [POSTGRES_URL]
// Environment: BERTH_BENCH_PICKUP_JOBS (per store, default 100), BERTH_BENCH_THROUGHPUT_JOBS (per
// loop, default 160: 1,000 per loop take about 20 minutes on 2 cores), BERTH_BENCH_CONCURRENCY
// (default 4), BERTH_BENCH_ROUNDS (default 4), BERTH_BENCH_SERIAL_JOBS (the raw loop at
// concurrency 1, for the polling model; default 12), BERTH_BENCH_KEYS (default 100) and
// BERTH_BENCH_JOBS_PER_KEY (default 10; 0 leaves part 4 out), BERTH_BENCH_WEBHOOK_JOBS (per store,
// default 100), BERTH_BENCH_PARTS ("all", "keys" for part 4 alone, "webhooks" for part 5 alone).

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("JobBench: error: \(message)\n".utf8))
    exit(2)
}

func note(_ message: String) {
    FileHandle.standardError.write(Data("JobBench: \(message)\n".utf8))
}

let arguments = CommandLine.arguments
guard arguments.count == 4 || arguments.count == 5 else {
    fail("usage: JobBench SOCKET IMAGE WORKDIR [POSTGRES_URL]")
}
let socket = arguments[1]
let imageName = arguments[2]
let workDirectory = arguments[3]
let postgresURL = arguments.count == 5 ? arguments[4] : nil

func setting(_ name: String, _ fallback: Int) -> Int {
    ProcessInfo.processInfo.environment[name].flatMap { Int($0) } ?? fallback
}
let pickupJobs = setting("BERTH_BENCH_PICKUP_JOBS", 100)
let throughputJobs = setting("BERTH_BENCH_THROUGHPUT_JOBS", 160)
let concurrency = setting("BERTH_BENCH_CONCURRENCY", 4)
let rounds = max(1, setting("BERTH_BENCH_ROUNDS", 4))
let serialJobs = setting("BERTH_BENCH_SERIAL_JOBS", 12)
let pollInterval = 5.0
let keyCount = setting("BERTH_BENCH_KEYS", 100)
let jobsPerKey = setting("BERTH_BENCH_JOBS_PER_KEY", 10)
let parts = ProcessInfo.processInfo.environment["BERTH_BENCH_PARTS"] ?? "all"
let webhookJobs = setting("BERTH_BENCH_WEBHOOK_JOBS", 100)

let client = DockerClient(endpoint: try DockerEndpoint(host: "unix://\(socket)"))
let engine = DockerEngine(client: client)
let image = try ImageReference(parsing: imageName)
let spec = JobSpec(container: ContainerSpec(image: image, command: ["true"], network: .none))

// MARK: A runner per store

/// One `JobRunner` on one store, with the store that submits to it (the same one for SQLite: an
/// in-process wake-up; another connection pool for PostgreSQL: LISTEN/NOTIFY).
struct Queue: Sendable {
    let name: String
    let project: String
    let submitter: any Store
    let store: any Store
    let recorder: Recorder
    let task: Task<Void, Never>

    static func start(name: String, project: String, store: any Store, submitter: any Store) -> Queue {
        let recorder = Recorder()
        let timedStore = TimedStore(inner: store, recorder: recorder)
        let runtime = TimedRuntime(inner: engine, recorder: recorder, project: project)
        // The default poll interval: every pickup below comes from the wake-up, not from a poll.
        let configuration = JobRunnerConfiguration(identity: "jobbench-\(name.lowercased())", maxConcurrentJobs: concurrency, pollInterval: .seconds(2))
        let runner = JobRunner(runtime: runtime, store: timedStore, configuration: configuration)
        let task = Task {
            await runner.updateDesired(DesiredState())
            await runner.run()
        }
        return Queue(name: name, project: project, submitter: submitter, store: store, recorder: recorder, task: task)
    }

    func submit(_ index: Int, key: String? = nil) async throws -> String {
        var jobSpec = spec
        jobSpec.concurrencyKey = key
        return try await submitter.submitJob(JobSubmission(project: project, name: "bench-\(index)", spec: jobSpec), now: Date()).job.id
    }

    /// Fails the run when any of this queue's jobs did not finish.
    func checkAllFinished() async throws {
        let counts = try await store.jobCounts(project: project)
        let other = counts.filter { $0.key != .finished && $0.value > 0 }
        if !other.isEmpty { fail("\(name): jobs not finished: \(other)") }
    }
}

// MARK: Raw engine calls

func plainRequest() -> ContainerCreateRequest {
    ContainerCreateRequest(image: imageName, cmd: ["true"], hostConfig: .init(networkMode: "none"))
}

/// The floor: the engine's own create+start of the same container, then wait and remove (untimed).
func engineFloor(_ name: String, withVolume: Bool) async throws -> Double {
    let volume = "\(name)-scratch"
    let begin = ContinuousClock.now
    var request = plainRequest()
    if withVolume {
        _ = try await client.createVolume(VolumeCreateRequest(name: volume))
        request.hostConfig.mounts = [.init(type: "volume", source: volume, target: "/berth/scratch", readOnly: false)]
    }
    let id = try await client.createContainer(name: name, request)
    try await client.startContainer(id)
    let elapsed = seconds(ContinuousClock.now - begin)
    _ = try await client.waitContainer(id)
    try await client.removeContainer(id)
    if withVolume { try await client.removeVolume(volume) }
    return elapsed
}

/// One trivial job by hand: create, start, wait, logs, remove.
func rawCycle(_ name: String, _ recorder: Recorder) async throws {
    let id = try await timed(recorder, "engine: create container") { try await client.createContainer(name: name, plainRequest()) }
    try await timed(recorder, "engine: start") { try await client.startContainer(id) }
    let code = try await timed(recorder, "engine: wait") { try await client.waitContainer(id) }
    guard code == 0 else { fail("raw container \(name) exited with \(code)") }
    _ = try await timed(recorder, "engine: logs") { try await client.logs(id, tail: 100) }
    try await timed(recorder, "engine: remove container") { try await client.removeContainer(id) }
    recorder.progress.add(1, ordering: .relaxed)
}

/// `count` raw cycles spread over `workers` tasks; returns the wall time in seconds.
func rawLoop(prefix: String, count: Int, workers: Int, recorder: Recorder) async throws -> Double {
    let begin = ContinuousClock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        for worker in 0..<workers {
            group.addTask {
                for index in stride(from: worker, to: count, by: workers) { try await rawCycle("\(prefix)-\(index)", recorder) }
            }
        }
        try await group.waitForAll()
    }
    return seconds(ContinuousClock.now - begin)
}

/// `count` jobs submitted back to back; returns the seconds from the first submit to the last
/// job's scratch volume removed.
/// With `keys`, job `i` has the concurrency key `key-(i mod keys)`.
func berthBatch(_ queue: Queue, first: Int, count: Int, keys: Int? = nil) async throws -> Double {
    let begin = ContinuousClock.now
    var ids: [String] = []
    for index in first..<(first + count) { ids.append(try await queue.submit(index, key: keys.map { "key-\(index % $0)" })) }
    for id in ids { await queue.recorder.waitFinished(id) }
    let end = ids.compactMap { queue.recorder.doneAt($0) }.max() ?? .now
    return seconds(end - begin)
}

// MARK: The run

let allRecorders = Mutex<[Recorder]>([])
func progressProbe() -> Int { allRecorders.withLock { $0.reduce(0) { $0 + $1.progress.load(ordering: .relaxed) } } }
func track(_ recorder: Recorder) -> Recorder {
    allRecorders.withLock { $0.append(recorder) }
    return recorder
}

let watchdog = Task {
    // Ends the run if neither a job nor a raw cycle finished for 60 s (the script then cleans up).
    var last = -1
    while !Task.isCancelled {
        try? await Task.sleep(for: .seconds(60))
        let now = progressProbe()
        if now == last && !Task.isCancelled { fail("no progress for 60 s") }
        last = now
    }
}
let version = try await client.version()
note("engine \(version.version) (API \(version.apiVersion)), \(ProcessInfo.processInfo.activeProcessorCount) cores")

var queues: [Queue] = []
let sqlite = try await SQLiteStore.open(.init(path: "\(workDirectory)/jobs.sqlite"))
queues.append(Queue.start(name: "SQLite", project: "sqlite", store: sqlite, submitter: sqlite))
if let postgresURL {
    let runnerStore = try await PostgresStore.open(PostgresConfiguration(connectionString: postgresURL))
    let submitter = try await PostgresStore.open(PostgresConfiguration(connectionString: postgresURL, poolSize: 1))
    queues.append(Queue.start(name: "PostgreSQL", project: "postgres", store: runnerStore, submitter: submitter))
}
for queue in queues { _ = track(queue.recorder) }
let rawRecorder = track(Recorder())

// Warm-up: the engine's caches, the client's connections, the stores' prepared statements.
note("warm-up")
for index in 0..<5 {
    _ = try await engineFloor("bench-warm-plain-\(index)", withVolume: false)
    _ = try await engineFloor("bench-warm-volume-\(index)", withVolume: true)
    for queue in queues {
        let id = try await queue.submit(-1 - index)
        await queue.recorder.waitFinished(id)
    }
}
_ = try await rawLoop(prefix: "bench-warm-raw", count: 8, workers: concurrency, recorder: Recorder())

if parts == "keys" || parts == "webhooks" {
    // The keys part runs through the queues' runners; the webhook part brings its own.
    let keys = parts == "keys" ? try await concurrencyKeyPart(queues, keys: keyCount, perKey: jobsPerKey, rounds: rounds) : nil
    watchdog.cancel()
    for queue in queues { queue.task.cancel() }
    for queue in queues { await queue.task.value }
    if let keys { print(keys) } else { print(try await webhookPart(queues)) }
    for queue in queues { await queue.store.close() }
    if queues.count > 1 { await queues[1].submitter.close() }
    exit(0)
}

// 1. Pickup latency.

/// Seconds per segment of one job's path, and how many calls each segment made.
struct Segments {
    var seconds: [String: Double] = [:]
    var calls: [String: Int] = [:]

    mutating func add(_ label: String, _ value: Double, calls count: Int = 1) {
        seconds[label, default: 0] += value
        calls[label, default: 0] += count
    }
}

struct Pickup {
    var toCreate: [Double] = []
    var toRunning: [Double] = []
    var floorPlain: [Double] = []
    var floorVolume: [Double] = []
    /// Per job: submit → create request issued, and create request issued → worker running.
    var beforeCreate: [Segments] = []
    var afterCreate: [Segments] = []
}

let submitLabel = "store: submit (the caller's call)"
let wakeUpLabel = "wake-up: submit returned → claim began"
let outsideLabel = "not in any call (scheduling, actor hops, logging)"

var pickups: [String: Pickup] = [:]
for queue in queues {
    note("pickup latency: \(pickupJobs) sequential jobs on \(queue.name), each after the engine's create+start with and without a volume")
    queue.recorder.reset()
    var result = Pickup()
    for index in 0..<pickupJobs {
        result.floorPlain.append(try await engineFloor("bench-floor-\(queue.project)-\(index)", withVolume: false))
        result.floorVolume.append(try await engineFloor("bench-floorv-\(queue.project)-\(index)", withVolume: true))
        let submitted = ContinuousClock.now
        let id = try await queue.submit(index)
        let submitReturned = ContinuousClock.now
        await queue.recorder.waitFinished(id)
        let spans = queue.recorder.spans.filter { $0.begin >= submitted }
        queue.recorder.reset()
        guard let create = spans.first(where: { $0.job == id && $0.label.hasPrefix("engine: create") }),
            let start = spans.first(where: { $0.job == id && $0.label == "engine: start" }),
            let claim = spans.first(where: { $0.job == id && $0.label == "store: claim" })
        else { fail("job \(id) has no claim, create or start call") }
        result.toCreate.append(seconds(create.begin - submitted))
        result.toRunning.append(seconds(start.end - submitted))
        // One job at a time, so the calls without a job id (the image check, empty claims, lease
        // renewals) belong to this job's path too.
        let mine = spans.filter { $0.job == nil || $0.job == id }
        let submitSpan = Span(job: id, label: submitLabel, begin: submitted, end: submitReturned)
        var before = Segments()
        before.add(submitLabel, submitSpan.seconds)
        let beforeSpans = mine.filter { $0.end <= create.begin }
        for span in beforeSpans { before.add(span.label, span.seconds) }
        let wakeUp = Span(job: id, label: wakeUpLabel, begin: min(submitReturned, claim.begin), end: claim.begin)
        before.add(wakeUpLabel, wakeUp.seconds, calls: 0)
        before.add(outsideLabel, seconds(create.begin - submitted) - covered(beforeSpans + [submitSpan, wakeUp], from: submitted, to: create.begin), calls: 0)
        result.beforeCreate.append(before)
        var after = Segments()
        let afterSpans = mine.filter { $0.begin >= create.begin && $0.end <= start.end }
        for span in afterSpans { after.add(span.label, span.seconds) }
        after.add(outsideLabel, seconds(start.end - create.begin) - covered(afterSpans, from: create.begin, to: start.end), calls: 0)
        result.afterCreate.append(after)
    }
    try await queue.checkAllFinished()
    pickups[queue.name] = result
}

// 2. Throughput, in alternating rounds.

var rawSeconds = 0.0, rawCount = 0
var berthSeconds: [String: Double] = [:], berthCount: [String: Int] = [:]
var throughputSpans: [String: [Span]] = [:]
rawRecorder.reset()
for queue in queues { queue.recorder.reset() }
var done = 0
for round in 0..<rounds {
    let count = throughputJobs / rounds + (round < throughputJobs % rounds ? 1 : 0)
    note("throughput round \(round + 1)/\(rounds): \(count) raw cycles at concurrency \(concurrency)")
    rawSeconds += try await rawLoop(prefix: "bench-raw-\(round)", count: count, workers: concurrency, recorder: rawRecorder)
    rawCount += count
    for queue in queues {
        note("throughput round \(round + 1)/\(rounds): \(count) jobs through JobRunner on \(queue.name)")
        berthSeconds[queue.name, default: 0] += try await berthBatch(queue, first: 100_000 + done, count: count)
        berthCount[queue.name, default: 0] += count
    }
    done += count
}
throughputSpans["raw"] = rawRecorder.spans
for queue in queues {
    try await queue.checkAllFinished()
    throughputSpans[queue.name] = queue.recorder.spans
}

// The raw loop at concurrency 1: what one worker that runs one job after another achieves.
note("raw loop at concurrency 1: \(serialJobs) cycles")
let serialRecorder = track(Recorder())
let serialSeconds = try await rawLoop(prefix: "bench-serial", count: serialJobs, workers: 1, recorder: serialRecorder)
let perJob = serialSeconds / Double(max(serialJobs, 1))

let keyReport: String? =
    if jobsPerKey > 0 { try await concurrencyKeyPart(queues, keys: keyCount, perKey: jobsPerKey, rounds: rounds) } else { nil }
watchdog.cancel()
for queue in queues { queue.task.cancel() }
for queue in queues { await queue.task.value }

// MARK: Report

let storeNames = queues.map(\.name)
print("## Job queue: \(ProcessInfo.processInfo.activeProcessorCount) cores, Docker \(version.version) (API \(version.apiVersion)), image \(imageName), command `true`, network none\n")

print("### Pickup latency: \(pickupJobs) jobs submitted one at a time per store\n")
print("| measured | p50 | p99 | mean |")
print("| --- | ---: | ---: | ---: |")
for name in storeNames {
    let result = pickups[name]!
    let how = name == "SQLite" ? "in-process wake-up" : "LISTEN/NOTIFY from another connection pool"
    print("| \(name) (\(how)): submit → create request issued | \(ms(percentile(result.toCreate, 50))) | \(ms(percentile(result.toCreate, 99))) | \(ms(mean(result.toCreate))) |")
    print("| \(name): submit → worker running (start returned) | \(ms(percentile(result.toRunning, 50))) | \(ms(percentile(result.toRunning, 99))) | \(ms(mean(result.toRunning))) |")
    print("| floor, same window: engine create + start | \(ms(percentile(result.floorPlain, 50))) | \(ms(percentile(result.floorPlain, 99))) | \(ms(mean(result.floorPlain))) |")
    print("| floor, same window: engine volume create + create + start | \(ms(percentile(result.floorVolume, 50))) | \(ms(percentile(result.floorVolume, 99))) | \(ms(mean(result.floorVolume))) |")
}
let allFloors = storeNames.flatMap { pickups[$0]!.floorPlain }
let polledPickup = (0..<1000).map { Double($0) / 1000 * pollInterval }
print(
    "| model: \(Int(pollInterval)) s polling queue, one idle worker: submit → create request issued | \(ms(percentile(polledPickup, 50))) | \(ms(percentile(polledPickup, 99))) | \(ms(mean(polledPickup))) |"
)
print(
    "| model: the same, submit → worker running (+ the floor's p50) | \(ms(percentile(polledPickup, 50) + percentile(allFloors, 50))) | \(ms(percentile(polledPickup, 99) + percentile(allFloors, 50))) | \(ms(mean(polledPickup) + percentile(allFloors, 50))) |"
)
print("")
print("| store | pickup p99 (target < 25 ms) | running p50 − floor p50 (target ≤ 20 ms) | running p50 − floor-with-volume p50 |")
print("| --- | ---: | ---: | ---: |")
for name in storeNames {
    let result = pickups[name]!
    let running = percentile(result.toRunning, 50)
    print("| \(name) | \(ms(percentile(result.toCreate, 99))) | \(msSigned(running - percentile(result.floorPlain, 50))) | \(msSigned(running - percentile(result.floorVolume, 50))) |")
}

/// One table row per segment: p50, p99 and calls per job in each store.
@MainActor func segmentTable(_ title: String, _ pick: (Pickup) -> [Segments], total: (label: String, values: (Pickup) -> [Double])) {
    print("\n### \(title)\n")
    print("| segment | " + storeNames.map { "\($0) p50 | p99 | calls/job" }.joined(separator: " | ") + " |")
    print("| --- |" + storeNames.map { _ in " ---: | ---: | ---: |" }.joined())
    let labels = Set(storeNames.flatMap { pick(pickups[$0]!).flatMap(\.seconds.keys) })
    let ordered = labels.filter { $0 != wakeUpLabel && $0 != outsideLabel }.sorted() + [wakeUpLabel, outsideLabel].filter(labels.contains)
    for label in ordered {
        let cells = storeNames.map { name -> String in
            let segments = pick(pickups[name]!)
            let values = segments.map { $0.seconds[label] ?? 0 }
            let calls = Double(segments.reduce(0) { $0 + ($1.calls[label] ?? 0) }) / Double(max(segments.count, 1))
            return "\(ms(percentile(values, 50))) | \(ms(percentile(values, 99))) | \(calls == 0 ? "—" : String(format: "%.2f", calls))"
        }
        print("| \(label) | " + cells.joined(separator: " | ") + " |")
    }
    let totals = storeNames.map { name -> String in
        let values = total.values(pickups[name]!)
        return "**\(ms(percentile(values, 50)))** | **\(ms(percentile(values, 99)))** | "
    }
    print("| **\(total.label)** | " + totals.joined(separator: " | ") + " |")
}

segmentTable(
    "Submit → create request issued, segment by segment (per job; the segments' p50s need not add up to the total's)",
    { $0.beforeCreate }, total: ("submit → create request issued", { $0.toCreate })
)
segmentTable(
    "Create request issued → worker running",
    { $0.afterCreate }, total: ("create request issued → worker running", { zip($0.toRunning, $0.toCreate).map { $0 - $1 } })
)

print("\n### The slowest pickups (submit → create request issued), segments over 1 ms\n")
print("| store | submit → create issued | segments |")
print("| --- | ---: | --- |")
for name in storeNames {
    let result = pickups[name]!
    let slowest = result.toCreate.indices.sorted { result.toCreate[$0] > result.toCreate[$1] }.prefix(3)
    for index in slowest {
        let parts = result.beforeCreate[index].seconds.filter { $0.value >= 0.001 }.sorted { $0.value > $1.value }
            .map { "\($0.key) \(ms($0.value))" }.joined(separator: "; ")
        print("| \(name) | \(ms(result.toCreate[index])) | \(parts) |")
    }
}

print("\n### Throughput: trivial jobs end to end, concurrency \(concurrency), \(rounds) alternating rounds\n")
print("| loop | jobs | wall time | jobs/s | vs raw loop |")
print("| --- | ---: | ---: | ---: | ---: |")
let rawRate = Double(rawCount) / rawSeconds
print("| raw loop: create, start, wait, logs, remove | \(rawCount) | \(String(format: "%.1f s", rawSeconds)) | \(String(format: "%.2f", rawRate)) | 100% |")
for name in storeNames {
    let rate = Double(berthCount[name]!) / berthSeconds[name]!
    print(
        "| JobRunner on \(name): submit … remove | \(berthCount[name]!) | \(String(format: "%.1f s", berthSeconds[name]!)) | \(String(format: "%.2f", rate)) | \(String(format: "%.0f%%", rate / rawRate * 100)) |"
    )
}
print(
    "| raw loop at concurrency 1 (one job after another) | \(serialJobs) | \(String(format: "%.1f s", serialSeconds)) | \(String(format: "%.2f", 1 / perJob)) | \(String(format: "%.0f%%", 1 / perJob / rawRate * 100)) |"
)
let modelA = 1 / (pollInterval + perJob)
print(
    "| model: \(Int(pollInterval)) s polling, one worker, one job per poll: 1 / (\(Int(pollInterval)) s + \(ms(perJob))) | \(throughputJobs) | \(String(format: "%.0f s", Double(throughputJobs) / modelA)) | \(String(format: "%.3f", modelA)) | \(String(format: "%.1f%%", modelA / rawRate * 100)) |"
)
print(
    "| model: \(Int(pollInterval)) s polling, one worker, drains the backlog between polls: 1 / \(ms(perJob)) | \(throughputJobs) | \(String(format: "%.0f s", Double(throughputJobs) * perJob + pollInterval / 2)) | \(String(format: "%.2f", 1 / perJob)) | \(String(format: "%.0f%%", 1 / perJob / rawRate * 100)) |"
)

print("\n### Throughput: engine and store calls per job, and their p50 duration under load\n")
let loops = ["raw"] + storeNames
let counts = ["raw": rawCount].merging(berthCount) { $1 }
print("| call | " + loops.map { "\($0 == "raw" ? "raw loop" : $0) calls/job | p50" }.joined(separator: " | ") + " |")
print("| --- |" + loops.map { _ in " ---: | ---: |" }.joined())
let throughputLabels = Set(loops.flatMap { throughputSpans[$0]!.map(\.label) }).sorted()
for label in throughputLabels {
    let cells = loops.map { loop -> String in
        let spans = throughputSpans[loop]!.filter { $0.label == label }
        if spans.isEmpty { return "— | —" }
        return "\(String(format: "%.2f", Double(spans.count) / Double(counts[loop]!))) | \(ms(percentile(spans.map(\.seconds), 50)))"
    }
    print("| \(label) | " + cells.joined(separator: " | ") + " |")
}
/// Engine requests behind one timed call: Berth's create is a volume create and a container
/// create, its container removal a stop (304 when exited) and a delete.
func requests(_ label: String) -> Int {
    switch label {
    case "engine: create volume + container", "engine: remove container (stop + delete)": return 2
    case "engine: janitor listing": return 0
    default: return label.hasPrefix("engine:") ? 1 : 0
    }
}
let engineRequests = loops.map { loop -> String in
    let total = throughputSpans[loop]!.reduce(0) { $0 + requests($1.label) }
    return String(format: "%.1f", Double(total) / Double(counts[loop]!))
}
let storeCalls = loops.map { loop -> String in
    let total = throughputSpans[loop]!.filter { $0.label.hasPrefix("store:") }.count
    return String(format: "%.1f", Double(total) / Double(counts[loop]!))
}
print("| engine requests per job | " + engineRequests.map { "\($0) | —" }.joined(separator: " | ") + " |")
print("| store calls per job (the submit not included) | " + storeCalls.map { "\($0) | —" }.joined(separator: " | ") + " |")

if let keyReport { print("\n" + keyReport) }
print("\n" + (try await webhookPart(queues)))

for queue in queues { await queue.store.close() }
if queues.count > 1 { await queues[1].submitter.close() }

import BerthCore
import BerthStore
import Foundation
import Synchronization

// Measures the state store against pgbench on the same cluster, in one run (scripts/bench-store,
// which runs pgbench at each client count right before this tool at the same count): job
// submissions/s (with a pool connection per client, and with the default pool) and claims/s
// through PostgresStore and SQLiteStore, and wake-up latency
// (submit → `.jobSubmitted` on a consumer's `notifications()`).
//
//   StoreBench prepare URL
//       opens a PostgresStore once, so the schema exists for pgbench's `LIKE jobs` table
//   StoreBench header
//       the throughput table's header
//   StoreBench throughput URL SQLITE_FOLDER CLIENTS SECONDS PGBENCH_TPS
//       one row of it; PGBENCH_TPS is pgbench's insert rate at CLIENTS just before
//   StoreBench wakeups URL SQLITE_FOLDER SECONDS
//       the wake-up latency table

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("StoreBench: \(message)\n".utf8))
    exit(2)
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

let spec = JobSpec(
    container: ContainerSpec(image: try ImageReference(parsing: "registry.example/qfield/worker:3.4"), command: ["./run", "--project", "bench", "--mode", "full"]),
    activeDeadline: .minutes(30), backoffLimit: 2
)

func submission(project: String = "bench") -> JobSubmission {
    JobSubmission(project: project, name: "nightly", spec: spec)
}

/// Runs `clients` loops of `operation` for `duration` (or until one returns 0: nothing left) and
/// returns the units they did per second of wall time.
func rate(clients: Int, duration: Duration, _ operation: @escaping @Sendable (Int) async throws -> Int) async throws -> Double {
    let start = ContinuousClock.now
    let deadline = start + duration
    let total = try await withThrowingTaskGroup(of: Int.self) { group in
        for client in 0..<clients {
            group.addTask {
                var done = 0
                while ContinuousClock.now < deadline {
                    let units = try await operation(client)
                    if units == 0 { break }
                    done += units
                }
                return done
            }
        }
        return try await group.reduce(0, +)
    }
    return Double(total) / seconds(ContinuousClock.now - start)
}

/// Submit → received on `notifications`, sequentially, for `samples` submits or `duration`;
/// returns the latencies in seconds. A watchdog ends the run if a wake-up never comes.
func wakeUpLatencies(
    submitter: any Store, receiver: any Store, samples: Int, duration: Duration
) async throws -> [Double] {
    var wakeUps = receiver.notifications().makeAsyncIterator()
    let progress = Atomic<Int>(0)
    let watchdog = Task {
        var last = -1
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(5))
            let now = progress.load(ordering: .relaxed)
            if now == last && !Task.isCancelled { fail("no wake-up arrived within 5 s") }
            last = now
        }
    }
    defer { watchdog.cancel() }
    var latencies: [Double] = []
    let deadline = ContinuousClock.now + duration
    for index in 0..<(samples + 20) {
        if ContinuousClock.now > deadline { break }
        let start = ContinuousClock.now
        _ = try await submitter.submitJob(submission(project: "wake"), now: Date())
        while let wakeUp = await wakeUps.next() {
            if wakeUp == .jobSubmitted(project: "wake") { break }
        }
        let latency = seconds(ContinuousClock.now - start)
        progress.add(1, ordering: .relaxed)
        // The first twenty warm up the connections.
        if index >= 20 { latencies.append(latency) }
    }
    return latencies
}

/// Submits from `clients` tasks at once, one job each time.
func submitRate(_ store: any Store, clients: Int, duration: Duration) async throws -> Double {
    try await rate(clients: clients, duration: duration) { _ in
        _ = try await store.submitJob(submission(), now: Date())
        return 1
    }
}

/// `PostgresConfiguration`'s pool size when none is given.
let defaultPool = PostgresConfiguration(connectionString: "").poolSize

/// Claims one job at a time (a controller's worst case: one transaction per job).
func claimOne(_ store: any Store, client: Int) async throws -> Int {
    try await store.claimJobs(controller: "bench-\(client)", engine: "bench", node: nil, limit: 1, projectLimits: [:], lease: .minutes(10)).count
}

func percentile(_ values: [Double], _ fraction: Double) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return .nan }
    return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * fraction).rounded()))]
}

func perSecond(_ value: Double) -> String { String(format: "%.0f", value) }
func milliseconds(_ value: Double) -> String { String(format: "%.2f ms", value * 1000) }

func postgresConfiguration(_ url: String, poolSize: Int) -> PostgresConfiguration {
    PostgresConfiguration(connectionString: url, overrides: ["application_name": "berth-storebench"], poolSize: poolSize)
}

let usage = """
    usage: StoreBench prepare URL
           StoreBench header
           StoreBench throughput URL SQLITE_FOLDER CLIENTS SECONDS PGBENCH_TPS
           StoreBench wakeups URL SQLITE_FOLDER SECONDS
    """

func sqliteStore(_ folder: String) async throws -> SQLiteStore {
    try await SQLiteStore.open(SQLiteStore.Configuration(path: URL(fileURLWithPath: folder).appendingPathComponent("bench.sqlite").path))
}

let arguments = CommandLine.arguments
switch (arguments.dropFirst().first, arguments.count) {
case ("prepare", 3):
    let store = try await PostgresStore.open(postgresConfiguration(arguments[2], poolSize: 1))
    await store.close()

case ("header", 2):
    print(
        "| clients | pgbench inserts/s | PostgresStore submits/s | submits / pgbench | submits/s, \(defaultPool) connections | "
            + "that / pgbench | PostgresStore claims/s | SQLiteStore submits/s | SQLiteStore claims/s |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")

case ("throughput", 7):
    guard let clients = Int(arguments[4]), clients > 0, let runSeconds = Int(arguments[5]), runSeconds > 0, let pgbench = Double(arguments[6]) else {
        fail(usage)
    }
    let duration = Duration.seconds(runSeconds)
    // One pool connection per client, as pgbench has one connection per client.
    let postgres = try await PostgresStore.open(postgresConfiguration(arguments[2], poolSize: clients))
    let postgresSubmits = try await submitRate(postgres, clients: clients, duration: duration)
    // The pool a store has by default, whatever the number of clients: as an API server would.
    let pooled = try await PostgresStore.open(postgresConfiguration(arguments[2], poolSize: defaultPool))
    let pooledSubmits = try await submitRate(pooled, clients: clients, duration: duration)
    await pooled.close()
    let postgresClaims = try await rate(clients: clients, duration: duration) { client in try await claimOne(postgres, client: client) }
    await postgres.close()
    let sqlite = try await sqliteStore(arguments[3])
    let sqliteSubmits = try await submitRate(sqlite, clients: clients, duration: duration)
    let sqliteClaims = try await rate(clients: clients, duration: duration) { client in try await claimOne(sqlite, client: client) }
    await sqlite.close()
    func ratio(_ rate: Double) -> String { String(format: "%.0f%%", rate / pgbench * 100) }
    print(
        "| \(clients) | \(perSecond(pgbench)) | \(perSecond(postgresSubmits)) | \(ratio(postgresSubmits)) | \(perSecond(pooledSubmits)) | "
            + "\(ratio(pooledSubmits)) | \(perSecond(postgresClaims)) | \(perSecond(sqliteSubmits)) | \(perSecond(sqliteClaims)) |"
    )

case ("wakeups", 5):
    guard let runSeconds = Int(arguments[4]), runSeconds > 0 else { fail(usage) }
    let duration = Duration.seconds(runSeconds)
    let samples = 1000
    let submitter = try await PostgresStore.open(postgresConfiguration(arguments[2], poolSize: 1))
    let receiver = try await PostgresStore.open(postgresConfiguration(arguments[2], poolSize: 1))
    let postgres = try await wakeUpLatencies(submitter: submitter, receiver: receiver, samples: samples, duration: duration)
    await submitter.close()
    await receiver.close()
    let sqlite = try await sqliteStore(arguments[3])
    let inProcess = try await wakeUpLatencies(submitter: sqlite, receiver: sqlite, samples: samples, duration: duration)
    await sqlite.close()
    print("| wake-up (submit → `.jobSubmitted` received) | p50 | p99 | samples |")
    print("| --- | ---: | ---: | ---: |")
    print("| PostgreSQL NOTIFY, one PostgresStore to another | \(milliseconds(percentile(postgres, 0.5))) | \(milliseconds(percentile(postgres, 0.99))) | \(postgres.count) |")
    print("| SQLite, in-process | \(milliseconds(percentile(inProcess, 0.5))) | \(milliseconds(percentile(inProcess, 0.99))) | \(inProcess.count) |")

default:
    fail(usage)
}

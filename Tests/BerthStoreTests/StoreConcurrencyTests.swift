import BerthCore
import Foundation
import Synchronization
import Testing

@testable import BerthStore

@Suite("Store concurrency and failures", .serialized)
struct StoreConcurrencyTests {
    /// Submits `count` jobs with `writers` concurrent tasks.
    static func submit(_ count: Int, to store: any Store, writers: Int = 8) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                group.addTask {
                    for index in stride(from: writer, to: count, by: writers) {
                        _ = try await store.submitJob(try submission(project: "p\(index % 5)", name: "j\(index)", priority: index % 3), now: at(Double(index) / 1000))
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    @Test(arguments: [(StoreKind.postgres, 10_000), (StoreKind.sqlite, 2_000)])
    func eightClaimersTakeEveryJobExactlyOnce(kind: StoreKind, jobs: Int) async throws {
        try await TestPlace.with(kind) { store, place in
            // given
            let opened = ContinuousClock.now
            try await Self.submit(jobs, to: store)
            let submitted = ContinuousClock.now
            // when: 8 claimers, each through a store of its own on PostgreSQL (several controllers)
            let claimers: [any Store] =
                kind == .postgres
                ? try await (0..<8).asyncMap { _ in try await place.open(poolSize: 1) }
                : Array(repeating: store, count: 8)
            let claims = try await withThrowingTaskGroup(of: [String].self) { group in
                for (index, claimer) in claimers.enumerated() {
                    group.addTask {
                        var mine: [String] = []
                        while true {
                            let batch = try await claimer.claimJobs(controller: "c\(index)", engine: "engine-1", node: nil, limit: 10, projectLimits: [:], lease: .minutes(5))
                            if batch.isEmpty { return mine }
                            mine += batch.map(\.id)
                        }
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let claimed = ContinuousClock.now
            if kind == .postgres { for claimer in claimers { await claimer.close() } }
            // then
            let all = claims.flatMap { $0 }
            #expect(all.count == jobs)
            #expect(Set(all).count == jobs)
            #expect(claims.filter { !$0.isEmpty }.count > 1, "several claimers got work")
            #expect(try await store.jobCounts(project: nil) == [.queued: jobs])
            print("\(kind): \(jobs) submits in \(submitted - opened), claimed by 8 claimers in \(claimed - submitted)")
        }
    }

    @Test(arguments: StoreKind.allCases)
    func concurrentClaimersNeverExceedAProjectLimit(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, place in
            // given
            try await Self.submit(200, to: store)
            let limits = (0..<5).reduce(into: [String: ProjectJobLimits]()) { $0["p\($1)"] = ProjectJobLimits(maxConcurrent: 3, exclusive: $1 == 0) }
            let claimers: [any Store] =
                kind == .postgres
                ? try await (0..<4).asyncMap { _ in try await place.open(poolSize: 1) }
                : Array(repeating: store, count: 4)
            // when: claim, finish some, claim again, concurrently
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, claimer) in claimers.enumerated() {
                    group.addTask {
                        for _ in 0..<20 {
                            let batch = try await claimer.claimJobs(controller: "c\(index)", engine: "engine-1", node: nil, limit: 4, projectLimits: limits, lease: .minutes(5))
                            let counts = try await claimer.jobCounts(project: nil)
                            _ = counts
                            for job in batch.prefix(1) {
                                try await claimer.transitionJob(job.id, from: .queued, to: .failed, claim: JobClaim(controller: "c\(index)", fence: 1), update: JobUpdate(), now: at(101))
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            if kind == .postgres { for claimer in claimers { await claimer.close() } }
            // then
            for project in 0..<5 {
                let active = try await store.jobs(filter: JobFilter(project: "p\(project)", states: [.queued, .started]), page: PageRequest(limit: 100)).items.count
                #expect(active <= (project == 0 ? 1 : 3), "p\(project) has \(active) active jobs")
                // Claimed at some point (its jobs may all have been claimed and failed since).
                let worked = try await store.jobs(filter: JobFilter(project: "p\(project)", states: [.queued, .started, .failed]), page: PageRequest(limit: 1)).items.count
                #expect(worked >= 1, "p\(project) got work")
            }
        }
    }

    /// Writers of one resource at once (an application retrying its PUT, two API processes):
    /// every write lands, created once, and the generation counts each change exactly.
    @Test(arguments: StoreKind.allCases)
    func concurrentWritesOfOneResourceAllLand(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, place in
            // given: four writers (their own connections on PostgreSQL), none of the rows there yet
            let writers: [any Store] =
                kind == .postgres
                ? try await (0..<4).asyncMap { _ in try await place.open(poolSize: 1) }
                : Array(repeating: store, count: 4)
            // when: each writes the same ten resources 20 times, the same document every time
            let documents = (0..<10).map { Resource(metadata: ResourceMetadata(name: "v\($0)", project: "p"), spec: .volume(VolumeSpec(labels: ["version": "same"]))) }
            let failures = try await withThrowingTaskGroup(of: [String].self) { group in
                for writer in writers {
                    group.addTask {
                        var failed: [String] = []
                        for round in 0..<20 {
                            for document in documents {
                                do {
                                    _ = try await writer.putResource(document, source: .api, now: at(Double(round)))
                                } catch {
                                    failed.append("\(error)")
                                }
                            }
                        }
                        return failed
                    }
                }
                return try await group.reduce(into: [String]()) { $0 += $1 }
            }
            if kind == .postgres { for writer in writers { await writer.close() } }
            // then
            #expect(failures.isEmpty, "\(failures.count) failed, e.g. \(failures.prefix(3))")
            let stored = try await store.resources(kind: .volume, project: "p", includeDeleted: true)
            #expect(stored.count == 10)
            #expect(stored.allSatisfy { $0.generation == 1 }, "an unchanged write bumps nothing: \(stored.map(\.generation))")
        }
    }

    /// GETs of jobs that wait for a connection are read together (`BatchedCalls`): each call must
    /// still get its own job and events (or none), and see every write acknowledged before it.
    @Test(arguments: StoreKind.allCases)
    func jobsReadTogetherEachGetTheirOwnAndSeeEveryAcknowledgedWrite(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, _ in
            // given: jobs with 1 to 4 events, and one started job whose feedback a writer bumps
            var ids: [String] = []
            for index in 0..<12 {
                let job = try await store.submitJob(try submission(project: "p\(index % 3)", name: "j\(index)"), now: at(0)).job
                ids.append(job.id)
            }
            _ = try await store.claimJobs(controller: "c1", engine: "engine-1", node: nil, limit: 12, projectLimits: [:], lease: .minutes(5))
            for (index, id) in ids.enumerated() where index % 3 != 0 {
                try await store.transitionJob(id, from: .queued, to: .started, claim: JobClaim(controller: "c1", fence: 1), update: JobUpdate(), now: at(2))
                if index % 3 == 2 {
                    try await store.transitionJob(id, from: .started, to: .finished, claim: JobClaim(controller: "c1", fence: 1), update: JobUpdate(exitCode: 0, reason: "Completed"), now: at(3))
                }
            }
            let bumped = ids[1]
            var answers: [String: (job: JobRecord, events: [EventRecord])] = [:]
            for id in ids where id != bumped {
                let job = try #require(try await store.job(id))
                answers[id] = (job, try await store.events(EventQuery(jobID: id)))
            }
            let expected = answers
            #expect(Set(expected.values.map(\.events.count)).count >= 3, "jobs with different numbers of events")
            // when: 8 readers ask for every job (and one that does not exist) with two limits, while
            // a writer bumps one job's feedback and reads it back after each acknowledged write
            let asked = ids + ["no-such-job"]
            let mismatches = try await withThrowingTaskGroup(of: [String].self) { group in
                for reader in 0..<8 {
                    group.addTask {
                        var wrong: [String] = []
                        for round in 0..<25 {
                            for id in asked.shuffled() {
                                let limit = (round + reader) % 2 == 0 ? 1000 : 2
                                let found = try await store.job(id, events: limit)
                                if id == bumped {
                                    if found?.job.id != bumped { wrong.append("\(id) was not found") }
                                    continue
                                }
                                guard let want = expected[id] else {
                                    if found != nil { wrong.append("\(id) was found") }
                                    continue
                                }
                                if found?.job != want.job || found?.events != Array(want.events.prefix(limit)) {
                                    wrong.append("\(id) with limit \(limit): \(String(describing: found?.job.id)), \(found?.events.count ?? -1) events")
                                }
                            }
                        }
                        return wrong
                    }
                }
                group.addTask {
                    var wrong: [String] = []
                    for value in 1...100 {
                        let feedback = #"{"n":\#(value)}"#
                        try await store.transitionJob(bumped, from: .started, to: .started, claim: JobClaim(controller: "c1", fence: 1), update: JobUpdate(feedback: feedback), now: at(4))
                        let read = try await store.job(bumped, events: 1000)
                        if read?.job.feedback != feedback { wrong.append("after writing \(feedback) read \(String(describing: read?.job.feedback))") }
                    }
                    return wrong
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            // then
            #expect(mismatches.count == 0, "wrong answers, the first: \(mismatches.prefix(5))")
        }
    }

    /// `berth serve` and a `berth jobs submit` started beside it both open a file that does not
    /// exist yet. Switching a new file to WAL can meet SQLite's deadlock rule (it answers "database
    /// is locked" at once instead of waiting out the busy timeout); every opener must still succeed.
    @Test func storesOpeningOneNewSQLiteFileTogetherAllSucceed() async throws {
        for round in 0..<20 {
            // given
            let place = try await TestPlace.make(.sqlite)
            // when
            let stores = try await withThrowingTaskGroup(of: (any Store).self) { group in
                for _ in 0..<8 { group.addTask { try await place.open() } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            // then
            #expect(stores.count == 8, "round \(round)")
            _ = try await stores[0].submitJob(try submission(name: "j\(round)"), now: Date())
            for store in stores {
                #expect(try await store.jobCounts(project: nil) == [.pending: 1], "round \(round)")
                await store.close()
            }
            try await place.remove()
        }
    }

    @Test(arguments: StoreKind.allCases)
    func jobsOfAClaimerKilledWithSIGKILLAreTakenOverAfterTheirLeaseExpires(kind: StoreKind) async throws {
        try await TestPlace.with(kind) { store, place in
            // given
            for index in 0..<10 {
                _ = try await store.submitJob(try submission(name: "j\(index)"), now: Date())
            }
            var arguments: [String]
            switch kind {
            case .sqlite: arguments = ["sqlite", place.location]
            case .postgres: arguments = ["postgres", try TestPostgres.url(), place.location]
            }
            arguments += ["probe", "6", "2"]
            // when: the probe claims 6 jobs with a 2 s lease, then dies holding them
            let probe = try ProbeProcess(arguments: arguments)
            let line = try await probe.firstLine(timeout: .seconds(60))
            probe.kill()
            let held = Array(line.split(separator: " ").dropFirst().map(String.init))
            #expect(held.count == 6)
            let before = try await store.takeOverExpiredJobs(controller: "survivor", engine: "engine-2", lease: .minutes(1))
            try await Task.sleep(for: .milliseconds(2100))
            let takenOver = try await store.takeOverExpiredJobs(controller: "survivor", engine: "engine-2", lease: .minutes(1))
            // then
            #expect(before.isEmpty)
            #expect(Set(takenOver.map(\.id)) == Set(held))
            #expect(takenOver.allSatisfy { $0.claimedBy == "survivor" && $0.claimedEngine == "engine-2" && $0.fence == 2 && $0.state == .queued })
            let rest = try await store.claimJobs(controller: "survivor", engine: "engine-2", node: nil, limit: 100, projectLimits: [:], lease: .minutes(1))
            #expect(rest.count == 4)
            let again = takenOver + rest
            #expect(again.allSatisfy { $0.attempt == 1 })
        }
    }

    @Test func postgresRestartedUnderLoadLosesNoAcknowledgedWrite() async throws {
        // A cluster of its own: stopping the shared one would fail every test running meanwhile.
        let ctl = try TestPostgres.environment("BERTH_TEST_POSTGRES_CTL")
        let data = try TestPostgres.environment("BERTH_TEST_POSTGRES_RESTART_DATA")
        let url = try TestPostgres.environment("BERTH_TEST_POSTGRES_RESTART_URL")
        let store = try await PostgresStore.open(PostgresConfiguration(connectionString: url))
        do {
            // given: writers submitting with idempotency keys, retrying what fails retryably
            let shared = LoadState()
            let load = Task {
                await withTaskGroup(of: Void.self) { group in
                    for writer in 0..<4 {
                        group.addTask {
                            var index = 0
                            while !shared.stop.load(ordering: .relaxed) {
                                let key = "w\(writer)-\(index)"
                                do {
                                    let result = try await store.submitJob(try submission(key: key), now: Date())
                                    shared.acknowledged.withLock { $0[key] = result.job.id }
                                    index += 1
                                } catch let error as StoreError where error.isRetryable {
                                    shared.retryableErrors.add(1, ordering: .relaxed)
                                    try? await Task.sleep(for: .milliseconds(20))
                                } catch {
                                    shared.otherErrors.withLock { $0.append("\(error)") }
                                    try? await Task.sleep(for: .milliseconds(20))
                                }
                            }
                        }
                    }
                }
            }
            defer { shared.stop.store(true, ordering: .relaxed) }
            try await Task.sleep(for: .milliseconds(500))
            // when: the server stops (fast: clients are disconnected) and starts again
            try await runAsPostgres([ctl, "-D", data, "-m", "fast", "-w", "stop"])
            try await Task.sleep(for: .seconds(1))
            let duringOutage = shared.acknowledged.withLock { $0.count }
            try await runAsPostgres([ctl, "-D", data, "-l", URL(fileURLWithPath: data).deletingLastPathComponent().appendingPathComponent("server.log").path, "-w", "start"])
            // the store reconnects by itself
            let resumed = ContinuousClock.now
            while shared.acknowledged.withLock({ $0.count }) < duringOutage + 50, ContinuousClock.now - resumed < .seconds(30) {
                try await Task.sleep(for: .milliseconds(50))
            }
            shared.stop.store(true, ordering: .relaxed)
            await load.value
            // then: every acknowledged submit is there, callers saw retryable errors only
            let expected = shared.acknowledged.withLock { $0 }
            #expect(expected.count > duringOutage + 50, "submits resumed after the restart")
            #expect(shared.retryableErrors.load(ordering: .relaxed) > 0)
            #expect(shared.otherErrors.withLock { $0 } == [])
            var stored: Set<String> = []
            var cursor: String?
            repeat {
                let page = try await store.jobs(filter: JobFilter(), page: PageRequest(limit: 1000, cursor: cursor))
                stored.formUnion(page.items.map(\.id))
                cursor = page.nextCursor
            } while cursor != nil
            #expect(Set(expected.values).isSubset(of: stored))
        } catch {
            await store.close()
            throw error
        }
        await store.close()
    }
}

/// What the writers of the restart test share.
final class LoadState: Sendable {
    let acknowledged = Mutex<[String: String]>([:])
    let retryableErrors = Atomic<Int>(0)
    let otherErrors = Mutex<[String]>([])
    let stop = Atomic<Bool>(false)
}

/// Runs a command as the postgres user (the cluster's owner) and waits for it on a thread of its
/// own (posix_spawn + waitpid: Foundation's Process did not notice `runuser` exiting here). The
/// child gets no descriptor of this process but its standard streams: `pg_ctl start` leaves a
/// server running, which kept the write ends of other tests' pipes open, so a test reading a
/// command's output to its end (`Scenario.run`) waited for ever.
func runAsPostgres(_ command: [String]) async throws {
    guard let closeFrom = addCloseFrom else { throw SetupError("glibc has no posix_spawn_file_actions_addclosefrom_np (2.34 or later needed)") }
    let arguments = ["/usr/sbin/runuser", "-u", "postgres", "--"] + command
    let status: Int32 = await withCheckedContinuation { continuation in
        Thread {
            var fileActions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&fileActions)
            posix_spawn_file_actions_addopen(&fileActions, 1, "/dev/null", O_WRONLY, 0)
            posix_spawn_file_actions_addopen(&fileActions, 2, "/dev/null", O_WRONLY, 0)
            _ = closeFrom(&fileActions, 3)
            defer { posix_spawn_file_actions_destroy(&fileActions) }
            let argv = arguments.map { strdup($0) } + [nil]
            defer { for argument in argv { free(argument) } }
            var pid: pid_t = 0
            guard posix_spawn(&pid, arguments[0], &fileActions, nil, argv, environ) == 0 else {
                continuation.resume(returning: -1)
                return
            }
            var status: Int32 = 0
            while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
            continuation.resume(returning: (status >> 8) & 0xff)
        }.start()
    }
    guard status == 0 else { throw SetupError("\(command.joined(separator: " ")) exited with \(status)") }
}

/// glibc's `posix_spawn_file_actions_addclosefrom_np`, which Swift does not see (it is declared
/// only under `_GNU_SOURCE`): the child closes every descriptor from the given one on.
private let addCloseFrom: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)? = {
    guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return nil }
    return unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
}()

/// The `berth-store-probe` helper, built beside the test bundle.
final class ProbeProcess: Sendable {
    private let process: Process
    private let output: Pipe

    init(arguments: [String]) throws {
        process = Process()
        process.executableURL = try Self.executable()
        process.arguments = arguments
        output = Pipe()
        process.standardOutput = output
        try process.run()
    }

    static func executable() throws -> URL {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var folder = binary.deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = folder.appendingPathComponent("berth-store-probe")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            folder.deleteLastPathComponent()
        }
        throw SetupError("berth-store-probe was not found beside \(binary.path); build with `swift build --build-tests`")
    }

    /// The first line the probe prints, read on a thread of its own (the read blocks).
    func firstLine(timeout: Duration) async throws -> String {
        let handle = output.fileHandleForReading
        let line: String? = await withCheckedContinuation { continuation in
            Thread {
                var bytes: [UInt8] = []
                while true {
                    let chunk = handle.readData(ofLength: 1)
                    if chunk.isEmpty || chunk.first == UInt8(ascii: "\n") { break }
                    bytes += chunk
                }
                continuation.resume(returning: bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self))
            }.start()
        }
        guard let line, line.hasPrefix("claimed") else {
            kill()
            throw SetupError("the probe printed no claim line")
        }
        return line
    }

    func kill() {
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

extension Sequence where Element: Sendable {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}

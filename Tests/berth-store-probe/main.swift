import BerthCore
import BerthStore
import Foundation

// A claimer for the store tests: opens a store, claims jobs with a lease, prints their ids on one
// line and then holds them until it is killed (the tests send SIGKILL).
//
//   berth-store-probe sqlite PATH CONTROLLER COUNT LEASE_SECONDS
//   berth-store-probe postgres CONNINFO DATABASE CONTROLLER COUNT LEASE_SECONDS

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("berth-store-probe: \(message)\n".utf8))
    exit(2)
}

let arguments = Array(CommandLine.arguments.dropFirst())
let store: any Store
let rest: ArraySlice<String>
do {
    switch arguments.first {
    case "sqlite" where arguments.count == 5:
        store = try await SQLiteStore.open(SQLiteStore.Configuration(path: arguments[1]))
        rest = arguments[2...]
    case "postgres" where arguments.count == 6:
        store = try await PostgresStore.open(PostgresConfiguration(connectionString: arguments[1], overrides: ["dbname": arguments[2]], poolSize: 1))
        rest = arguments[3...]
    default:
        fail("usage: berth-store-probe sqlite PATH CONTROLLER COUNT LEASE_SECONDS | postgres CONNINFO DATABASE CONTROLLER COUNT LEASE_SECONDS")
    }
} catch {
    fail("cannot open the store: \(error)")
}
let values = Array(rest)
guard let count = Int(values[1]), let leaseSeconds = Int64(values[2]) else { fail("COUNT and LEASE_SECONDS are numbers") }
do {
    let jobs = try await store.claimJobs(controller: values[0], engine: "probe", node: nil, limit: count, projectLimits: [:], lease: .seconds(leaseSeconds))
    // Written straight to the descriptor: no buffering to flush before the kill.
    FileHandle.standardOutput.write(Data(("claimed " + jobs.map(\.id).joined(separator: " ") + "\n").utf8))
} catch {
    fail("claim failed: \(error)")
}
while true { try await Task.sleep(for: .seconds(3600)) }

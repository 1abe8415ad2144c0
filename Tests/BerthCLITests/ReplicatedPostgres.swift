import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// PostgreSQL's own programs run as the postgres user, as scripts/services/postgres.sh runs them.
enum PostgresUser {
    /// The folder of `pg_ctl`, `initdb` and the rest (`BERTH_TEST_POSTGRES_CTL`'s).
    static func binaries() throws -> URL {
        URL(fileURLWithPath: try TestServices.value("BERTH_TEST_POSTGRES_CTL")).deletingLastPathComponent()
    }

    /// Runs `argv` as the postgres user and waits for it (at most `timeout` seconds); throws
    /// unless it exits with 0. A server it starts must not keep any descriptor of this test
    /// process (a pipe another test reads to its end would never end), so everything above
    /// standard error is closed first.
    @discardableResult
    static func run(_ argv: [String], timeout: Int = 90) async throws -> CommandResult {
        let closeInherited = #"for fd in /proc/$$/fd/*; do n=${fd##*/}; [ "$n" -gt 2 ] && eval "exec $n>&-" 2>/dev/null; done; exec "$@""#
        let result = try await BerthProcess.runCommand(["/bin/bash", "-c", closeInherited, "postgres-user", "/usr/sbin/runuser", "-u", "postgres", "--"] + argv, timeout: timeout)
        guard result.status == 0 else {
            let name = URL(fileURLWithPath: argv[0]).lastPathComponent
            throw BerthProcess.SetupError("\(name) \(argv.dropFirst().joined(separator: " ")) exited with \(result.status): \(result.stderr)")
        }
        return result
    }
}

/// A PostgreSQL primary with a streaming standby that commits wait for (synchronous replication),
/// made for one test and stopped by it: each server listens on 127.0.0.1 at a port of its own
/// and on a unix socket in its folder under `BERTH_TEST_ROOT`.
///
/// The standby is a `pg_basebackup -R` of the primary, streaming through a replication slot;
/// the primary lists it in `synchronous_standby_names` once it streams, so an acknowledged commit
/// is on both. Promoted, the standby becomes a primary that waits for no one.
/// `finish()` stops both servers (`pg_ctl stop -m immediate`) and checks that their postmasters
/// are gone, killing (by pid) one that is not.
final class ReplicatedPostgres: Sendable {
    /// The password of the `berth` role: a test checks that it never shows.
    let password = "pgha-\(UUID().uuidString.prefix(12).lowercased())"
    let root: URL
    let primaryPort: Int
    let standbyPort: Int
    private let bin: URL

    /// The multi-host URL Berth is given: the primary first, then the standby.
    var url: String {
        "postgresql://berth:\(password)@127.0.0.1:\(primaryPort),127.0.0.1:\(standbyPort)/berth?target_session_attrs=read-write&connect_timeout=5"
    }

    /// Both servers without `target_session_attrs`: once the primary is gone, libpq takes the
    /// standby as it is, read-only until promoted.
    var urlAcceptingAStandby: String {
        "postgresql://berth:\(password)@127.0.0.1:\(primaryPort),127.0.0.1:\(standbyPort)/berth?connect_timeout=5"
    }

    private var primary: URL { root.appendingPathComponent("primary") }
    private var standby: URL { root.appendingPathComponent("standby") }

    /// Makes and starts both servers; throws (the test fails) when either cannot start.
    init() async throws {
        bin = try PostgresUser.binaries()
        root = URL(fileURLWithPath: try TestServices.value("BERTH_TEST_ROOT")).appendingPathComponent("pgha-\(UUID().uuidString.prefix(8))")
        primaryPort = try Self.freePort()
        standbyPort = try Self.freePort()
        do {
            try await makeServers()
        } catch {
            await finish()
            throw error
        }
    }

    private func makeServers() async throws {
        for folder in [primary, standby] {
            try FileManager.default.createDirectory(at: folder.appendingPathComponent("socket"), withIntermediateDirectories: true)
        }
        try FileManager.default.createDirectory(at: primary.appendingPathComponent("data"), withIntermediateDirectories: true)
        try await Scenario.run("/bin/chown", ["-R", "postgres:", root.path])
        try await Scenario.run("/bin/chmod", ["700", primary.appendingPathComponent("data").path])

        try await PostgresUser.run([
            tool("initdb"), "-D", data(primary), "-U", "postgres", "--auth-local=trust", "--auth-host=scram-sha-256", "--encoding=UTF8", "--locale=C.UTF-8",
        ])
        try configure(primary, port: primaryPort, extra: "wal_level = replica\nmax_wal_senders = 4\nmax_replication_slots = 4\n")
        try await start(primary)
        try await psql(
            primary, "CREATE ROLE berth LOGIN SUPERUSER PASSWORD '\(password)'", "CREATE DATABASE berth OWNER berth",
            "SELECT pg_create_physical_replication_slot('standby')")

        // The standby: a copy that streams from the slot, applies as it goes and answers reads.
        try await PostgresUser.run([
            tool("pg_basebackup"), "-h", socket(primary), "-p", String(primaryPort), "-U", "postgres", "-D", data(standby), "-R", "-S", "standby", "-X", "stream", "-c", "fast",
        ])
        // cluster_name is the application name it streams under; promoted, it waits for no standby.
        try configure(standby, port: standbyPort, extra: "cluster_name = 'standby'\nhot_standby = on\nsynchronous_standby_names = ''\n")
        try await start(standby)

        // Only now is every commit on the primary made to wait for the standby.
        try await psql(primary, "ALTER SYSTEM SET synchronous_standby_names = 'standby'", "SELECT pg_reload_conf()")
        let deadline = ContinuousClock.now + .seconds(60)
        while try await psql(primary, "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby'") != "sync" {
            guard ContinuousClock.now < deadline else {
                throw BerthProcess.SetupError("the standby did not become synchronous within 60 s; its log:\n\(log(standby))")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Stops the primary at once, as a crash would: clients lose their connections.
    func stopPrimary() async throws {
        try await PostgresUser.run([tool("pg_ctl"), "-D", data(primary), "-m", "immediate", "-w", "-t", "60", "stop"])
    }

    /// Promotes the standby to primary and waits until it accepts writes.
    func promoteStandby() async throws {
        try await PostgresUser.run([tool("pg_ctl"), "-D", data(standby), "-w", "-t", "60", "promote"])
    }

    /// Stops both servers that still run and removes their folder; records an issue for a
    /// postmaster that outlived `pg_ctl stop` (then killed by its pid).
    func finish() async {
        for server in [primary, standby] {
            guard let postmaster = Self.postmasterPID(data(server)) else { continue }
            _ = try? await PostgresUser.run([tool("pg_ctl"), "-D", data(server), "-m", "immediate", "-w", "-t", "60", "stop"])
            // It removes postmaster.pid, which ends `pg_ctl stop`, a moment before it exits.
            if (try? await poll(10, { !Self.isPostgres(postmaster) })) == true { continue }
            Issue.record("the postmaster \(postmaster) of \(server.lastPathComponent) outlived pg_ctl stop; killed")
            kill(postmaster, SIGKILL)
        }
        try? FileManager.default.removeItem(at: root)
    }

    /// The pid in a data folder's postmaster.pid, if there is one.
    private static func postmasterPID(_ data: String) -> pid_t? {
        guard let text = try? String(contentsOfFile: data + "/postmaster.pid", encoding: .utf8) else { return nil }
        return text.split(separator: "\n").first.flatMap { pid_t($0) }
    }

    /// Whether `pid` is a live postgres process (not a zombie, nor another that reused the number).
    private static func isPostgres(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
        return stat.contains("(postgres) ") && !stat.contains("(postgres) Z")
    }

    private func tool(_ name: String) -> String { bin.appendingPathComponent(name).path }
    private func data(_ server: URL) -> String { server.appendingPathComponent("data").path }
    private func socket(_ server: URL) -> String { server.appendingPathComponent("socket").path }
    private func log(_ server: URL) -> String {
        (try? String(contentsOf: server.appendingPathComponent("server.log"), encoding: .utf8)) ?? ""
    }

    /// Appends the server's own settings to its postgresql.conf (later lines win).
    private func configure(_ server: URL, port: Int, extra: String) throws {
        let settings = """

            listen_addresses = '127.0.0.1'
            port = \(port)
            unix_socket_directories = '\(socket(server))'
            max_connections = 100
            fsync = on
            synchronous_commit = on
            log_min_messages = warning
            \(extra)
            """
        let file = try FileHandle(forWritingTo: URL(fileURLWithPath: data(server) + "/postgresql.conf"))
        defer { try? file.close() }
        try file.seekToEnd()
        try file.write(contentsOf: Data(settings.utf8))
    }

    private func start(_ server: URL) async throws {
        do {
            try await PostgresUser.run([tool("pg_ctl"), "-D", data(server), "-l", server.appendingPathComponent("server.log").path, "-w", "-t", "60", "start"])
        } catch {
            throw BerthProcess.SetupError("\(error)\nthe server's log:\n\(log(server))")
        }
    }

    @discardableResult
    private func psql(_ server: URL, _ statements: String...) async throws -> String {
        try await psql(server, statements)
    }

    private func psql(_ server: URL, _ statements: [String]) async throws -> String {
        let port = server == primary ? primaryPort : standbyPort
        let commands = statements.flatMap { ["-c", $0] }
        let result = try await PostgresUser.run(
            [tool("psql"), "-h", socket(server), "-p", String(port), "-U", "postgres", "-d", "postgres", "-qAt", "-v", "ON_ERROR_STOP=1"] + commands)
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A loopback port nothing listens on at this moment (bound to port 0, then released).
    private static func freePort() throws -> Int {
        let probe = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard probe >= 0 else { throw BerthProcess.SetupError("socket: \(errno)") }
        defer { close(probe) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(probe, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0 else { throw BerthProcess.SetupError("bind: \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(probe, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

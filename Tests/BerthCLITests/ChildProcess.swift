import Foundation
import Synchronization

/// A child process started with `posix_spawn`, its output in files, reaped by a thread of its own.
///
/// `waitpid` blocks, so it never runs on one of the cooperative pool's two threads: a dedicated
/// thread waits for this pid alone and resumes whoever awaits `exitStatus()`. Foundation's
/// `Process` is not used: its `waitUntilExit()` blocks the caller, and with many children starting
/// and ending at once across the suite it once never returned for a child that had exited.
final class ChildProcess: Sendable {
    let pid: pid_t
    private let state = Mutex<(status: Int32?, killedAtLimit: Bool, waiters: [CheckedContinuation<Int32, Never>])>((nil, false, []))

    /// Starts `argv` (`argv[0]` a path) in `directory`, standard input from /dev/null and its
    /// output into the files `stdout` and `stderr` (appended to when `append`, else truncated).
    init(_ argv: [String], environment: [String: String], directory: String, stdout: String, stderr: String, append: Bool = false) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        let flags = O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, flags, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, flags, 0o600)
        // In `directory`: a shell changes there and execs the command (glibc's
        // posix_spawn_file_actions_addchdir_np is not visible to Swift).
        let argv = ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", directory] + argv
        let cArguments = argv.map { strdup($0) } + [nil]
        let cEnvironment = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in cArguments + cEnvironment { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, argv[0], &actions, nil, cArguments, cEnvironment)
        guard spawned == 0 else { throw BerthProcess.SetupError("cannot start \(argv[4]): \(String(cString: strerror(spawned)))") }
        self.pid = pid
        Thread { [self] in reap() }.start()
    }

    /// Whether the process has ended and been reaped.
    var hasExited: Bool { state.withLock { $0.status != nil } }

    /// Its exit status once it ended (128 + the signal when a signal ended it), else nil.
    var status: Int32? { state.withLock { $0.status } }

    /// Sends `signal` unless the process was reaped already (its pid may then be another's).
    func signal(_ signal: Int32) {
        state.withLock { state in
            if state.status == nil { kill(pid, signal) }
        }
    }

    /// Waits until the process ends; returns its exit status.
    func exitStatus() async -> Int32 {
        await withCheckedContinuation { continuation in
            let status = state.withLock { state -> Int32? in
                if state.status == nil { state.waiters.append(continuation) }
                return state.status
            }
            if let status { continuation.resume(returning: status) }
        }
    }

    /// Waits until the process ends, at most `limit`: then it is killed (SIGKILL) and nil returned.
    func exitStatus(within limit: Duration) async -> Int32? {
        let killer = Task { [self] in
            try await Task.sleep(for: limit)
            state.withLock { state in
                guard state.status == nil else { return }
                state.killedAtLimit = true
                kill(pid, SIGKILL)
            }
        }
        let status = await exitStatus()
        killer.cancel()
        return state.withLock { $0.killedAtLimit } ? nil : status
    }

    /// Ends the process: `signal` (SIGTERM by default), then SIGKILL if it still runs after `grace`.
    func stop(_ signal: Int32 = SIGTERM, grace: Duration = .seconds(30)) async {
        self.signal(signal)
        _ = await exitStatus(within: grace)
    }

    private func reap() {
        var raw: Int32 = 0
        var result = waitpid(pid, &raw, 0)
        while result == -1 && errno == EINTR { result = waitpid(pid, &raw, 0) }
        let signal = raw & 0x7f
        let status = result == -1 ? -1 : (signal == 0 ? (raw >> 8) & 0xff : 128 + signal)
        let waiters = state.withLock { state in
            state.status = status
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: status) }
    }
}

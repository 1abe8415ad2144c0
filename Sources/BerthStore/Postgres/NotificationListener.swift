import BerthCore
import CLibPQ
import Foundation
import Logging
import Synchronization

/// The LISTEN side: a thread with its own connection that waits on the socket (`poll`) and on a
/// pipe that `stop()` writes to, and hands every notification to the hub.
///
/// SAFETY (`@unchecked Sendable`): the connection is only used on the listener thread; `stopped`
/// is atomic; the pipe's file descriptors are fixed at init.
final class NotificationListener: @unchecked Sendable {
    private let configuration: PostgresConfiguration
    private let hub: NotificationHub
    private let logger: Logger
    private let stopped = Atomic<Bool>(false)
    private var wakePipe: [Int32] = [-1, -1]
    private let done = NSCondition()
    private var finished = false

    init(configuration: PostgresConfiguration, hub: NotificationHub, logger: Logger) {
        self.configuration = configuration
        self.hub = hub
        self.logger = logger
        wakePipe.withUnsafeMutableBufferPointer { _ = pipe($0.baseAddress) }
    }

    /// Starts the thread and returns once its first LISTEN succeeded or failed.
    func start() async {
        await withCheckedContinuation { (ready: CheckedContinuation<Void, Never>) in
            let thread = Thread { [self] in run(ready: ready) }
            thread.name = "berth-pg-listen"
            thread.start()
        }
    }

    func stop() async {
        stopped.store(true, ordering: .sequentiallyConsistent)
        var byte: UInt8 = 1
        _ = write(wakePipe[1], &byte, 1)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let waiter = Thread { [self] in
                done.lock()
                while !finished { done.wait() }
                done.unlock()
                close(wakePipe[0])
                close(wakePipe[1])
                continuation.resume()
            }
            waiter.start()
        }
    }

    private func run(ready: CheckedContinuation<Void, Never>) {
        let connection = PostgresConnection(configuration: configuration)
        var ready: CheckedContinuation<Void, Never>? = ready
        var everConnected = false
        while !stopped.load(ordering: .sequentiallyConsistent) {
            if !connection.isConnected {
                do throws(StoreError) {
                    try connection.ensureConnected()
                    try connection.run("LISTEN \(PostgresBackend.channel)")
                    if everConnected {
                        logger.debug("the store's notification listener reconnected")
                        hub.send(.resync)
                    }
                    everConnected = true
                } catch {
                    logger.debug("the store's notification listener cannot connect", metadata: ["berth.error": "\(error.message)"])
                    connection.close()
                }
                ready?.resume()
                ready = nil
                if !connection.isConnected {
                    waitForWake(socket: -1, milliseconds: Int32(configuration.initialBackoff.milliseconds * 4))
                    continue
                }
            }
            waitForWake(socket: connection.socket, milliseconds: 30_000)
            guard let raw = connection.raw else { continue }
            if PQconsumeInput(raw) == 0 {
                connection.close()
                continue
            }
            while let notification = PQnotifies(raw) {
                let payload = String(cString: notification.pointee.extra)
                PQfreemem(notification)
                if let decoded = StoreNotification(payload: payload) { hub.send(decoded) }
            }
        }
        connection.close()
        ready?.resume()
        done.lock()
        finished = true
        done.broadcast()
        done.unlock()
    }

    /// Waits until the socket is readable, `stop()` was called, or the time passed.
    private func waitForWake(socket: Int32, milliseconds: Int32) {
        var descriptors = [pollfd(fd: wakePipe[0], events: Int16(POLLIN), revents: 0)]
        if socket >= 0 { descriptors.append(pollfd(fd: socket, events: Int16(POLLIN), revents: 0)) }
        _ = poll(&descriptors, nfds_t(descriptors.count), milliseconds)
    }
}

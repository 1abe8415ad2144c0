import BerthController
import BerthCore
import BerthStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ServiceLifecycle

/// `/v1/plan`, `/v1/status`, `/v1/events`: what the controller would do, what it recorded, and why.
package struct ControlRoutes {
    let dependencies: APIDependencies
    private var store: any Store { dependencies.store }

    func register(on group: RouterGroup<APIRequestContext>) {
        group.get("plan", use: plan)
        group.get("status", use: status)
        group.get("events", use: events)
    }

    /// `GET /v1/plan[?node=]`: planned now from full desired state against the live engine; all
    /// projects, so it needs a token without a project limit. `node`: plan the replicas placed on
    /// that node (default: this process's node, else every replica while the store has at most one).
    @Sendable func plan(_ request: Request, context: APIRequestContext) async throws -> Response {
        try context.authorize(.readState, project: nil)
        let node = try request.uri.queryParameters.get("node").map { try RequestParameters.name($0, "node") }
        return try JSONAnswer.response(.ok, PlanView(try await Self.currentPlan(dependencies, node: node)))
    }

    /// What the controller would do now: planned from full desired state against the live engine,
    /// for the replicas of `node` (nil: of this process's node, if any; see
    /// ``NodePlacement/replicas(ofNode:store:)``).
    package static func currentPlan(_ dependencies: APIDependencies, node: String? = nil) async throws -> Plan {
        let placement: ReplicaPlacement
        do {
            placement = try await NodePlacement.replicas(ofNode: node ?? dependencies.node, store: dependencies.store)
        } catch let error as NodeChoiceError {
            throw APIError.badParameter("node", "\(error): give it as ?node=NAME")
        }
        let snapshot: DesiredStateSource.Snapshot
        do {
            snapshot = try await dependencies.source.load()
        } catch let error as ValidationError {
            throw APIError(.serviceUnavailable, code: "unavailable", message: "the desired state does not validate: \(error)")
        }
        do {
            let store = dependencies.store
            return try await Reconciler(runtime: dependencies.engine, objectStorage: dependencies.objectStorage, store: store, adoptions: store).plan(snapshot.state, placement: placement)
        } catch let error as StoreError {
            throw error
        } catch {
            throw APIError(.serviceUnavailable, code: "unavailable", message: "the engine could not be observed: \(error)")
        }
    }

    /// `GET /v1/status?project=`: phase, replicas, restarts and conditions of every resource, how
    /// this process's controller stands (whether its desired state is stale, writes waiting), and
    /// the git source, which serves every project, for a token that may read them all; and where
    /// each CronJob stands.
    @Sendable func status(_ request: Request, context: APIRequestContext) async throws -> Response {
        let project = try RequestParameters.project(request, context)
        try context.authorize(.readState, project: project)
        return try JSONAnswer.response(.ok, try await Self.statusList(project: project, context: context, dependencies: dependencies))
    }

    /// The statuses of `project` (nil: all), this process's controller, the git source (only for
    /// a caller without a project limit) and the CronJobs; the caller was authorized to read them.
    package static func statusList(project: String?, context: APIRequestContext, dependencies: APIDependencies) async throws -> StatusListView {
        let store = dependencies.store
        let source = try context.projectLimit() == nil ? try await SourceView.read(from: store) : nil
        // Best effort: manifests that do not validate (the controller logs why, and converges the
        // last valid ones) leave the CronJobs out rather than the whole status.
        let declared = (try? await dependencies.source.cronJobs(project: project)) ?? []
        let cronJobs = try await CronJobStatus.read(declared, store: store, now: Date())
        return StatusListView(items: try await store.statuses(project: project), controller: dependencies.controller?.report, source: source, cronJobs: cronJobs)
    }

    /// `GET /v1/events?project=&kind=&name=&job=&after=&limit=[&follow=true]`: oldest first; with
    /// `follow`, server-sent events (`id:` is the sequence; `Last-Event-ID` resumes) until the client leaves.
    @Sendable func events(_ request: Request, context: APIRequestContext) async throws -> Response {
        let parameters = request.uri.queryParameters
        let project = try RequestParameters.project(request, context)
        try context.authorize(.readState, project: project)
        var query = EventQuery(project: project, limit: try RequestParameters.integer(parameters.get("limit"), "limit", in: 1...1000) ?? 100)
        query.jobID = parameters.get("job")
        if let kindText = parameters.get("kind") {
            guard let kind = ResourceRoutes.kind(kindText), let name = parameters.get("name") else {
                throw APIError.badParameter("kind", "filter by resource with kind, name and project together, e.g. kind=service&name=web&project=default")
            }
            query.resource = ResourceID(kind: kind, project: project ?? ResourceID.defaultProject, name: try RequestParameters.name(name, "name"))
        }
        let resume = parameters.get("after") ?? request.headers[ServerSentEvents.lastEventID]
        if let resume {
            guard let sequence = Int64(resume), sequence >= 0 else { throw APIError.badParameter("after", "after is an event sequence number, not \"\(resume)\"") }
            query.afterSequence = sequence
        }
        guard parameters.get("follow") == "true" else {
            return try JSONAnswer.response(.ok, ItemsView(items: try await store.events(query).map(EventView.init)))
        }
        return Self.follow(query, store: store, slot: try dependencies.followers.take(try context.caller()))
    }

    /// The events `start` selects and every later one, as server-sent events (`event`, with the
    /// sequence as `id:`), until the client leaves or a newer stream displaces it; `slot` is
    /// given back when the stream ends.
    /// `changed`, asked whenever the stream has caught up, adds a `changed` event each time it says
    /// so (the web UI: a status changed without an event).
    package static func follow(
        _ start: EventQuery, store: any EventLog, slot: FollowerSlots.Slot, changed: (@Sendable () async throws -> Bool)? = nil
    ) -> Response {
        let body = ResponseBody { writer in
            // The slot is given back when this body ends.
            defer { withExtendedLifetime(slot) {} }
            var query = start
            var heartbeat = ServerSentEvents.Heartbeat()
            while ServerSentEvents.shouldContinue, !slot.isDisplaced {
                let batch = try await store.events(query)
                for event in batch {
                    try await writer.write(ServerSentEvents.event("event", id: String(event.sequence), data: try JSONAnswer.text(EventView(event))))
                    query.afterSequence = event.sequence
                    heartbeat.wrote()
                }
                if batch.count < query.limit {
                    if let changed, try await changed() {
                        try await writer.write(ServerSentEvents.event("changed", data: "status"))
                        heartbeat.wrote()
                    }
                    try await heartbeat.pause { try await writer.write($0) }
                }
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: ServerSentEvents.headers, body: body)
    }
}

/// The `text/event-stream` framing of server-sent events.
package enum ServerSentEvents {
    /// Whether a stream should go on: not when the request was cancelled or the server is
    /// shutting down gracefully (a stream would otherwise hold the shutdown forever).
    static var shouldContinue: Bool { !Task.isCancelled && !Task.isShuttingDownGracefully }

    /// Pauses between polls and writes a comment line after 10 s of silence, so a client that
    /// left is noticed (the write fails) and proxies keep the connection open.
    struct Heartbeat {
        private var lastWrite = ContinuousClock.now

        mutating func wrote() { lastWrite = .now }

        mutating func pause(_ send: (ByteBuffer) async throws -> Void) async throws {
            try await Task.sleep(for: .milliseconds(250))
            if ContinuousClock.now - lastWrite > .seconds(10) {
                try await send(ByteBuffer(string: ": keep-alive\n\n"))
                wrote()
            }
        }
    }

    /// Writes what `produce` sends through a buffer of `capacity` events, so the producer never
    /// waits for the reader: a reader that falls that far behind is dropped, with a last
    /// `dropped` event, instead of the server holding ever more for it. A displaced `slot` ends
    /// the stream (within a quarter of a second), whatever the producer waits for.
    static func relay(
        into writer: inout any ResponseBodyWriter, slot: FollowerSlots.Slot, capacity: Int = 64, _ produce: @escaping @Sendable (Outbox) async throws -> Void
    ) async throws {
        let (events, continuation) = AsyncThrowingStream.makeStream(of: ByteBuffer.self, bufferingPolicy: .bufferingOldest(capacity))
        try await withThrowingTaskGroup(of: Void.self) { group in
            if slot.isDisplaceable {
                group.addTask {
                    while !slot.isDisplaced { try await Task.sleep(for: .milliseconds(250)) }
                    continuation.finish()
                }
            }
            group.addTask {
                do {
                    try await produce(Outbox(continuation: continuation))
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            defer { group.cancelAll() }
            do {
                for try await event in events { try await writer.write(event) }
            } catch is Outbox.Overflow {
                try await writer.write(ServerSentEvents.event("dropped", data: "the reader fell \(capacity) events behind and was dropped; follow again to go on"))
            }
        }
    }

    /// The producer's end of a ``relay(into:capacity:_:)``.
    struct Outbox: Sendable {
        /// The reader fell too far behind.
        struct Overflow: Error {}

        let continuation: AsyncThrowingStream<ByteBuffer, any Error>.Continuation

        func send(_ event: ByteBuffer) throws(Overflow) {
            if case .dropped = continuation.yield(event) { throw Overflow() }
        }
    }

    package static let lastEventID = HTTPField.Name("Last-Event-ID")!
    static let headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache"]

    /// One event: every line of `data` on its own `data:` line, then a blank line.
    static func event(_ name: String, id: String? = nil, data: String) -> ByteBuffer {
        event(name, id: id, utf8: Array(data.utf8))
    }

    /// One event of bytes (a log frame): invalid UTF-8 becomes U+FFFD, and every CR, LF and CRLF
    /// starts a new `data:` line, as a reader splits lines (a line end left inside one `data:`
    /// line would let the bytes after it pass for fields and events of their own).
    static func event(_ name: String, id: String? = nil, data: some Collection<UInt8>) -> ByteBuffer {
        event(name, id: id, utf8: Array(String(decoding: data, as: UTF8.self).utf8))
    }

    private static func event(_ name: String, id: String?, utf8 bytes: [UInt8]) -> ByteBuffer {
        var buffer = ByteBuffer(string: "event: \(name)\n")
        if let id { buffer.writeString("id: \(id)\n") }
        for line in lines(bytes) {
            buffer.writeString("data: ")
            buffer.writeBytes(line)
            buffer.writeString("\n")
        }
        buffer.writeString("\n")
        return buffer
    }

    /// The lines of `bytes`, each ended by CR, LF or CRLF; a line end at the very end starts no
    /// further line, and no bytes are one empty line.
    static func lines(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        let carriageReturn = UInt8(ascii: "\r"), lineFeed = UInt8(ascii: "\n")
        var lines: [ArraySlice<UInt8>] = []
        var start = 0, index = 0
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            guard byte == carriageReturn || byte == lineFeed else { continue }
            lines.append(bytes[start..<(index - 1)])
            if byte == carriageReturn, index < bytes.count, bytes[index] == lineFeed { index += 1 }
            start = index
        }
        if start < bytes.count || lines.isEmpty { lines.append(bytes[start...]) }
        return lines
    }
}

import BerthCerts
import BerthCore
import BerthDocker
import BerthHostFiles
import BerthStore
import Foundation
import Logging

/// Converges `kind: Certificate`. The leading controller (``converge(_:now:)``) reads each
/// certificate back from the store (or, before the store held one, from its target), lets
/// `CertificatePlanner` decide, issues (self-signed, or by the local CA the store keeps), stores
/// the key and certificate, writes the files, and reloads the services named in `reload`. Every
/// other node (``distribute(_:placement:now:)``) writes the stored files to its own target when
/// it runs a consumer, and reloads its own consumers; it never issues. A certificate is looked at
/// when first seen, when its spec or stored material changes, and when its renewal is due, never
/// on every pass (a volume target needs a helper container).
public actor CertificateManager {
    /// The local CA's name in the store.
    static let authorityName = "local"

    private let engine: DockerEngine
    private let store: (any ResourceStore & EventLog & CertificateMaterialStore)?
    private let caDirectory: String
    private let record: CertificateFileRecord
    private let helperImage: ImageReference
    private let logger: Logger
    /// Per certificate: the spec last converged and when to look again.
    private var checked: [ResourceID: (spec: CertificateSpec, next: Date)] = [:]
    /// Failures wait before the next try (the resource's status says why).
    private var failures: [ResourceID: Int] = [:]
    /// The local CA, once read from the store (or the state directory without a store).
    private var authority: CertificateAuthority?
    /// On a node that does not lead: per certificate, the spec and stored certificate its target
    /// holds, and the last failure to write them (one event per distinct failure).
    private var written: [ResourceID: (spec: CertificateSpec, certificatePEM: String)] = [:]
    private var distributionFailures: [ResourceID: String] = [:]

    /// The local CA lives in the store, and in `<stateDirectory>/ca` without a store (a copy is
    /// kept there for clients to trust); the record of the host files Berth wrote is
    /// `<stateDirectory>/certificate-files.json`.
    public init(
        engine: DockerEngine, store: (any ResourceStore & EventLog & CertificateMaterialStore)?, stateDirectory: String, helperImage: ImageReference,
        logger: Logger = Logger(label: "berth.certificates")
    ) {
        self.engine = engine
        self.store = store
        self.caDirectory = stateDirectory + "/ca"
        self.record = CertificateFileRecord(stateDirectory: stateDirectory)
        self.helperImage = helperImage
        self.logger = logger
    }

    /// What one `converge` did.
    public struct Report: Sendable {
        /// When the next certificate is due (renewal, or a retry after a failure).
        public var next: Date?
        /// Certificates issued, with why.
        public var issued: [ResourceID: String] = [:]
        public var failures: [ResourceID: String] = [:]
    }

    /// Converges every declared certificate that is due; only the leader calls it.
    @discardableResult
    public func converge(_ desired: DesiredState, now: Date = Date()) async -> Report {
        written = [:]
        distributionFailures = [:]
        var report = Report()
        var declared: Set<ResourceID> = []
        for resource in desired.resources {
            guard case .certificate(let spec) = resource.spec else { continue }
            declared.insert(resource.id)
            if let seen = checked[resource.id], seen.spec == spec, seen.next > now {
                report.next = min(report.next ?? seen.next, seen.next)
                continue
            }
            let due: Date
            do {
                let outcome = try await converge(resource.id, spec, in: desired, now: now)
                due = outcome.due
                if let reason = outcome.issued { report.issued[resource.id] = reason }
                failures[resource.id] = nil
            } catch {
                report.failures[resource.id] = "\(error)"
                let attempts = (failures[resource.id] ?? 0) + 1
                failures[resource.id] = attempts
                let delay = BackoffPolicy(initial: .seconds(5), maximum: .minutes(5)).delay(afterAttempts: attempts)
                due = now.addingTimeInterval(delay.seconds)
                logger.error("certificate \(resource.id) not converged, next try in \(delay): \(error)", metadata: ["berth.resource": "\(resource.id)"])
                await record(resource.id, phase: .failed, reason: "IssueFailed", message: "\(error)", now: now, renewAt: due, event: true, warning: true)
            }
            checked[resource.id] = (spec, due)
            report.next = min(report.next ?? due, due)
        }
        checked = checked.filter { declared.contains($0.key) }
        failures = failures.filter { declared.contains($0.key) }
        return report
    }

    /// On a node that does not lead (`placement` names it): writes each stored certificate that
    /// a replica placed here consumes (a service mounting its volume target, or one named in its
    /// `reload`) to this node's target when the target does not hold it yet, then reloads the
    /// consumers running here. The target is opened only when the stored certificate is not the
    /// one last written here; a failure is tried again after the next pass.
    public func distribute(_ desired: DesiredState, placement: ReplicaPlacement, now: Date = Date()) async {
        guard let node = placement.nodeName, let store else { return }
        checked = [:]
        failures = [:]
        var consumed: Set<ResourceID> = []
        for resource in desired.resources {
            guard case .certificate(let spec) = resource.spec, Self.consumers(of: resource.id, spec, in: desired).contains(where: placement.placesHere)
            else { continue }
            consumed.insert(resource.id)
            do {
                guard let material = try await store.certificateMaterial(resource.id) else { continue }
                if let last = written[resource.id], last.spec == spec, last.certificatePEM == material.certificatePEM { continue }
                let message = try await write(material, of: resource.id, spec, in: desired, node: node)
                written[resource.id] = (spec, material.certificatePEM)
                distributionFailures[resource.id] = nil
                if let message {
                    logger.info("\(message)", metadata: ["berth.resource": "\(resource.id)", "berth.node": "\(node)"])
                    await event(resource.id, reason: "CertificateWritten", message: message, warning: false, now: now)
                }
            } catch {
                let message = "node \(node): cannot write certificate \(resource.id), trying again after the next pass: \(error)"
                logger.error("\(message)", metadata: ["berth.resource": "\(resource.id)", "berth.node": "\(node)"])
                if distributionFailures[resource.id] != message {
                    distributionFailures[resource.id] = message
                    await event(resource.id, reason: "CertificateWriteFailed", message: message, warning: true, now: now)
                }
            }
        }
        written = written.filter { consumed.contains($0.key) }
        distributionFailures = distributionFailures.filter { consumed.contains($0.key) }
    }

    /// Writes `material` to this node's target unless it holds it already; what was done, or nil.
    private func write(_ material: CertificateMaterial, of id: ResourceID, _ spec: CertificateSpec, in desired: DesiredState, node: String) async throws
        -> String?
    {
        let chain = try await chainPEM(for: spec)
        let wrote = try await withTarget(id, spec, in: desired) { target in
            guard try await target.read(spec.files.certificate) != material.certificatePEM else { return false }
            try await target.write(Self.issued(material, chain: chain).files(spec.files))
            return true
        }
        guard wrote else { return nil }
        let reloaded = try await reload(id, spec)
        return "node \(node): wrote the stored certificate (valid until \(material.notAfter.formatted(.iso8601)))"
            + (reloaded.isEmpty ? "" : "; reloaded \(reloaded.joined(separator: ", "))")
    }

    /// The services of `id`'s project that use its files: those mounting its volume target and
    /// those named in its `reload`.
    static func consumers(of id: ResourceID, _ spec: CertificateSpec, in desired: DesiredState) -> [ResourceID] {
        let reloaded = Set(spec.reload.map(\.service))
        return desired.services.filter { service in
            guard service.id.project == id.project else { return false }
            if reloaded.contains(service.id.name) { return true }
            guard case .volume(let name, _) = spec.target else { return false }
            return service.spec.container.volumes.contains { $0.source == .volume(name) }
        }.map { $0.id }
    }

    /// The chain file's text: the local CA's certificate, or nothing for a self-signed one.
    private func chainPEM(for spec: CertificateSpec) async throws -> String {
        guard spec.issuer == .localCA else { return "" }
        if let authority { return try authority.pem + "\n" }
        guard let stored = try await store?.certificateAuthority(Self.authorityName) else {
            throw CertificateError("the store holds no local CA yet; the leader makes it when it first issues")
        }
        return stored.certificatePEM + "\n"
    }

    /// The files of stored material, with `chain`.
    private static func issued(_ material: CertificateMaterial, chain: String) -> IssuedCertificate {
        IssuedCertificate(certificatePEM: material.certificatePEM, keyPEM: material.keyPEM, chainPEM: chain, notAfter: material.notAfter)
    }

    /// The local CA: the store's, made by the first leader that needed it (uploading the one in
    /// this host's state directory, if any, so clients that trust it keep trusting it); a copy is
    /// saved in the state directory when that has none. Without a store, the state directory's.
    private func localAuthority(now: Date) async throws -> CertificateAuthority {
        if let authority { return authority }
        let local = try CertificateAuthority.load(from: caDirectory)
        let authority: CertificateAuthority
        if let store {
            let candidate = try local ?? CertificateAuthority.create(now: now)
            let stored = try await store.certificateAuthority(
                Self.authorityName,
                creatingWith: StoredCertificateAuthority(name: Self.authorityName, certificatePEM: try candidate.pem, keyPEM: try candidate.keyPEM, createdAt: now))
            authority = try CertificateAuthority(certificatePEM: stored.certificatePEM, keyPEM: stored.keyPEM)
            if local == nil { try authority.save(in: caDirectory) }
        } else {
            authority = try local ?? CertificateAuthority.loadOrCreate(in: caDirectory, now: now)
        }
        self.authority = authority
        return authority
    }

    /// Converges one certificate; returns when to look again, and why it was issued if it was.
    private func converge(_ id: ResourceID, _ spec: CertificateSpec, in desired: DesiredState, now: Date) async throws -> (due: Date, issued: String?) {
        let authority = spec.issuer == .localCA ? try await localAuthority(now: now) : nil
        return try await withTarget(id, spec, in: desired) { target in try await converge(id, spec, at: target, authority: authority, now: now) }
    }

    /// Runs `body` on `id`'s target, opened for it and closed after, whatever `body` does.
    private func withTarget<T: Sendable>(
        _ id: ResourceID, _ spec: CertificateSpec, in desired: DesiredState, _ body: (CertificateTarget) async throws -> T
    ) async throws -> T {
        let target = try await CertificateTarget.open(id: id, spec: spec, in: desired, engine: engine, helperImage: helperImage, record: record)
        do {
            let value = try await body(target)
            await target.close()
            return value
        } catch {
            await target.close()
            throw error
        }
    }

    /// The store's material is the certificate every node writes: a leader whose target holds
    /// another certificate (a new leader) judges the stored one and writes it; a target holding
    /// the stored one is judged with its own key file. Material issued before the store kept any
    /// is read from the target and stored.
    private func converge(
        _ id: ResourceID, _ spec: CertificateSpec, at target: CertificateTarget, authority: CertificateAuthority?, now: Date
    ) async throws -> (due: Date, issued: String?) {
        let stored = try await store?.certificateMaterial(id)
        let onTarget = try await target.read(spec.files.certificate)
        let fromStore = stored?.certificatePEM == onTarget ? nil : stored
        var current: ObservedCertificate?
        var unreadable: String?
        var keyOnTarget: String?
        if let pem = fromStore?.certificatePEM ?? onTarget {
            do {
                if fromStore == nil { keyOnTarget = try await target.read(spec.files.key) }
                current = try CertificateIssuer.read(pem: pem, keyPEM: fromStore?.keyPEM ?? keyOnTarget ?? "", authority: authority)
            } catch {
                unreadable = "\(error)"
            }
        }
        let chain = try await chainPEM(for: spec)
        switch CertificatePlanner.decide(spec, current: current, unreadable: unreadable, now: now) {
        case .keep(let renewAt):
            var message = "valid until \(current?.notAfter.formatted(.iso8601) ?? "?"), renewed from \(renewAt.formatted(.iso8601))"
            var event = false
            if let fromStore {
                try await target.write(Self.issued(fromStore, chain: chain).files(spec.files))
                let reloaded = try await reload(id, spec)
                message += "; wrote the stored certificate" + (reloaded.isEmpty ? "" : ", reloaded \(reloaded.joined(separator: ", "))")
                event = true
            } else if stored == nil, let store, let onTarget, let keyOnTarget, let current {
                try await store.putCertificateMaterial(
                    CertificateMaterial(id: id, certificatePEM: onTarget, keyPEM: keyOnTarget, notAfter: current.notAfter, issuedAt: now))
            }
            await record(id, phase: .ready, reason: "Issued", message: message, now: now, renewAt: renewAt, event: event, warning: false)
            return (renewAt, nil)
        case .issue(let reason):
            let issued = try CertificateIssuer.issue(spec, authority: authority, now: now)
            try await store?.putCertificateMaterial(
                CertificateMaterial(id: id, certificatePEM: issued.certificatePEM, keyPEM: issued.keyPEM, notAfter: issued.notAfter, issuedAt: now))
            try await target.write(issued.files(spec.files))
            logger.info("issued certificate \(id) (\(reason)), valid until \(issued.notAfter.formatted(.iso8601))", metadata: ["berth.resource": "\(id)", "berth.cause": "\(reason)"])
            let reloaded = try await reload(id, spec)
            let renewAt = issued.notAfter.addingTimeInterval(-spec.renewBefore.seconds)
            let message =
                "issued (\(reason)); valid until \(issued.notAfter.formatted(.iso8601)), renewed from \(renewAt.formatted(.iso8601))"
                + (reloaded.isEmpty ? "" : "; reloaded \(reloaded.joined(separator: ", "))")
            await record(id, phase: .ready, reason: "Issued", message: message, now: now, renewAt: renewAt, event: true, warning: false)
            return (renewAt, reason)
        }
    }

    /// Signals (or restarts) the running containers on this engine of each service in `reload`.
    private func reload(_ id: ResourceID, _ spec: CertificateSpec) async throws -> [String] {
        var done: [String] = []
        for entry in spec.reload {
            let containers = try await engine.client.listContainers(
                labels: [
                    "\(LabelKey.managed)=true", "\(LabelKey.project)=\(id.project)", "\(LabelKey.kind)=\(ObjectKind.service.rawValue)", "\(LabelKey.name)=\(entry.service)",
                ], all: false)
            for container in containers {
                if entry.restart {
                    try await engine.client.restartContainer(container.id, timeout: 10)
                    done.append("\(container.name) (restarted)")
                } else {
                    try await engine.client.killContainer(container.id, signal: entry.signal.description)
                    done.append("\(container.name) (\(entry.signal.description))")
                }
            }
        }
        return done
    }

    /// An event of a node that does not lead (the leader owns the status).
    private func event(_ id: ResourceID, reason: String, message: String, warning: Bool, now: Date) async {
        do {
            try await store?.appendEvent(EventRecord(resource: id, project: id.project, type: warning ? .warning : .normal, reason: reason, message: message, time: now))
        } catch {
            logger.error("cannot record an event of \(id): \(error)")
        }
    }

    /// The status shows validity and the next renewal (or retry) in `nextAttemptAt`.
    private func record(_ id: ResourceID, phase: ResourcePhase, reason: String, message: String, now: Date, renewAt: Date, event: Bool, warning: Bool) async {
        guard let store else { return }
        do {
            var status = try await store.status(id) ?? ResourceStatus(id: id, phase: phase, updatedAt: now)
            let before = status
            status.phase = phase
            status.nextAttemptAt = renewAt
            status.setCondition(.ready, phase == .ready ? .true : .false, reason: reason, message: message, now: now)
            status.lastAction = event ? (phase == .ready ? "issue certificate" : "issue certificate failed") : status.lastAction
            if status != before || event {
                status.updatedAt = now
                try await store.putStatus(status)
            }
            if event {
                try await store.appendEvent(EventRecord(resource: id, project: id.project, type: warning ? .warning : .normal, reason: reason, message: message, time: now))
            }
        } catch {
            logger.error("cannot record the status of \(id): \(error)")
        }
    }
}

/// Where a certificate's files live: a host folder (reached without following symbolic links,
/// its files replaced only when Berth wrote them), or a folder inside a Berth volume reached
/// through a stopped helper container and the engine's archive API (no host path needed).
struct CertificateTarget: Sendable {
    private enum Place: Sendable {
        case host(String)
        case volume(helper: String, folder: String)
    }

    private let place: Place
    private let engine: DockerEngine
    private let record: CertificateFileRecord

    private init(place: Place, engine: DockerEngine, record: CertificateFileRecord) {
        self.place = place
        self.engine = engine
        self.record = record
    }

    /// The target of `spec`; for a volume, a stopped helper container that mounts it.
    static func open(
        id: ResourceID, spec: CertificateSpec, in desired: DesiredState, engine: DockerEngine, helperImage: ImageReference, record: CertificateFileRecord
    ) async throws -> CertificateTarget {
        switch spec.target {
        case .hostPath(let folder):
            return CertificateTarget(place: .host(folder), engine: engine, record: record)
        case .volume(let name, let path):
            let volume = desired.volumeEngineName(project: id.project, name: name)
            // The engine would make a missing named volume itself, unlabelled: wait for Berth's (or,
            // for an external volume, for the one someone else makes).
            let external = desired.volume(project: id.project, name: name)?.external == true
            let exists = try await engine.client.listVolumes(labels: external ? [] : ["\(LabelKey.managed)=true"]).contains { $0.name == volume }
            guard exists else { throw CertificateError("the volume \(volume) does not exist yet; the certificate is written once it does") }
            let helper = "berth-\(id.project)-certificate-\(id.name)"
            try? await engine.client.removeContainer(helper, force: true)
            try await engine.ensureImage(helperImage, policy: .ifNotPresent)
            let labels = [
                LabelKey.managed: "true", LabelKey.project: id.project, LabelKey.kind: ObjectKind.certificateHelper.rawValue, LabelKey.name: id.name,
            ]
            let mount = ContainerCreateRequest.MountSpec(type: "volume", source: volume, target: "/target", readOnly: false)
            let request = ContainerCreateRequest(
                image: helperImage.description, cmd: ["true"], labels: labels, hostConfig: .init(mounts: [mount], networkMode: "none")
            )
            _ = try await engine.client.createContainer(name: helper, request)
            return CertificateTarget(place: .volume(helper: helper, folder: path == "." ? "" : path), engine: engine, record: record)
        }
    }

    /// A file's text, or nil when it is not there.
    func read(_ file: String) async throws -> String? {
        switch place {
        case .host(let folder):
            do throws(HostFileError) {
                return String(decoding: try HostFolder(folder).read(file, limit: CertificateIssuer.readLimit).bytes, as: UTF8.self)
            } catch {
                guard error.isMissing else { throw error }
                return nil
            }
        case .volume(let helper, let folder):
            switch try await engine.client.readFile(helper, path: "/target/" + (folder.isEmpty ? "" : folder + "/") + file, limit: CertificateIssuer.readLimit) {
            case .contents(let bytes)?: return String(decoding: bytes, as: UTF8.self)
            case .tooLarge?: throw CertificateError("\(file) at the target is larger than \(CertificateIssuer.readLimit) bytes")
            case .notAFile?: throw CertificateError("\(file) at the target is not a regular file")
            case nil: return nil
            }
        }
    }

    /// Writes every file: the key readable by its owner only, the others by everyone. In a host
    /// folder (made with mode 0700 when missing) nothing is written if any file is there that
    /// Berth did not write; the files are recorded before they are written.
    func write(_ files: [(name: String, text: String, isPrivate: Bool)]) async throws {
        switch place {
        case .host(let path):
            let folder = try HostFolder(path, creating: 0o700)
            let written = try record.paths()
            for file in files where !written.contains(CertificateFileRecord.key(path, file.name)) {
                guard try !folder.contains(file.name) else {
                    throw CertificateError(
                        "refusing to replace \(path)/\(file.name): Berth did not write it (\(record.location) does not list it); move it away, or choose another target or file name"
                    )
                }
            }
            try record.add(files.map { CertificateFileRecord.key(path, $0.name) })
            for file in files { try folder.write(file.name, Array(file.text.utf8), mode: file.isPrivate ? 0o600 : 0o644) }
        case .volume(let helper, let folder):
            var entries: [TarArchive.Entry] = []
            var prefix = ""
            for component in folder.split(separator: "/") {
                prefix += component + "/"
                entries.append(TarArchive.Entry(path: prefix, kind: .directory, mode: 0o755))
            }
            for file in files {
                entries.append(TarArchive.Entry(path: prefix + file.name, mode: file.isPrivate ? 0o600 : 0o644, contents: Array(file.text.utf8)))
            }
            try await engine.client.writeArchive(helper, path: "/target", entries: entries)
        }
    }

    func close() async {
        if case .volume(let helper, _) = place { _ = try? await engine.client.removeContainer(helper, force: true) }
    }
}

import BerthCerts
import BerthCore
import BerthDocker
import BerthHostFiles
import BerthStore
import Foundation
import Logging

/// Converges `kind: Certificate`: reads each certificate back from its target, lets
/// `CertificatePlanner` decide, issues (self-signed or by the local CA), writes the files, and
/// reloads the services named in `reload`. A certificate is looked at when first seen, when its
/// spec changes, and when its renewal is due, never on every pass (a volume target needs a
/// helper container). Only the leading controller calls it.
public actor CertificateManager {
    private let engine: DockerEngine
    private let store: (any ResourceStore & EventLog)?
    private let caDirectory: String
    private let record: CertificateFileRecord
    private let helperImage: ImageReference
    private let logger: Logger
    /// Per certificate: the spec last converged and when to look again.
    private var checked: [ResourceID: (spec: CertificateSpec, next: Date)] = [:]
    /// Failures wait before the next try (the resource's status says why).
    private var failures: [ResourceID: Int] = [:]

    /// The local CA lives in `<stateDirectory>/ca`, the record of the host files Berth wrote in
    /// `<stateDirectory>/certificate-files.json`.
    public init(engine: DockerEngine, store: (any ResourceStore & EventLog)?, stateDirectory: String, helperImage: ImageReference, logger: Logger = Logger(label: "berth.certificates")) {
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

    /// Converges every declared certificate that is due.
    @discardableResult
    public func converge(_ desired: DesiredState, now: Date = Date()) async -> Report {
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

    /// Converges one certificate; returns when to look again, and why it was issued if it was.
    private func converge(_ id: ResourceID, _ spec: CertificateSpec, in desired: DesiredState, now: Date) async throws -> (due: Date, issued: String?) {
        let authority = spec.issuer == .localCA ? try CertificateAuthority.loadOrCreate(in: caDirectory, now: now) : nil
        let target = try await CertificateTarget.open(id: id, spec: spec, in: desired, engine: engine, helperImage: helperImage, record: record)
        do {
            let outcome = try await converge(id, spec, at: target, authority: authority, now: now)
            await target.close()
            return outcome
        } catch {
            await target.close()
            throw error
        }
    }

    private func converge(
        _ id: ResourceID, _ spec: CertificateSpec, at target: CertificateTarget, authority: CertificateAuthority?, now: Date
    ) async throws -> (due: Date, issued: String?) {
        var current: ObservedCertificate?
        var unreadable: String?
        if let pem = try await target.read(spec.files.certificate) {
            do {
                let key = try await target.read(spec.files.key) ?? ""
                current = try CertificateIssuer.read(pem: pem, keyPEM: key, authority: authority)
            } catch {
                unreadable = "\(error)"
            }
        }
        switch CertificatePlanner.decide(spec, current: current, unreadable: unreadable, now: now) {
        case .keep(let renewAt):
            let message = "valid until \(current?.notAfter.formatted(.iso8601) ?? "?"), renewed from \(renewAt.formatted(.iso8601))"
            await record(id, phase: .ready, reason: "Issued", message: message, now: now, renewAt: renewAt, event: false, warning: false)
            return (renewAt, nil)
        case .issue(let reason):
            let issued = try CertificateIssuer.issue(spec, authority: authority, now: now)
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

    /// Signals (or restarts) the running containers of each service in `reload`.
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

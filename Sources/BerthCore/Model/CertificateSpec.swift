/// A TLS key and certificate that Berth issues, writes to a target and renews before it expires.
public struct CertificateSpec: Sendable, Hashable, Codable {
    /// Who signs the certificate.
    public enum Issuer: String, Sendable, Hashable, Codable, CaseIterable {
        case selfSigned
        /// A CA that Berth creates once and keeps in its state directory.
        case localCA
    }

    /// The private key type.
    public enum KeyAlgorithm: String, Sendable, Hashable, Codable, CaseIterable {
        case ecdsaP256 = "ECDSA-P256"
        case ecdsaP384 = "ECDSA-P384"
        case rsa2048 = "RSA-2048"
        case rsa4096 = "RSA-4096"
    }

    /// The names of the files written into the target folder.
    public struct FileNames: Sendable, Hashable, Codable {
        public var certificate: String
        public var key: String
        /// The issuing CA's certificate (empty for self-signed certificates).
        public var chain: String
        /// The certificate followed by the chain, what most servers want.
        public var fullchain: String

        public init(certificate: String = "cert.pem", key: String = "key.pem", chain: String = "chain.pem", fullchain: String = "fullchain.pem") {
            self.certificate = certificate
            self.key = key
            self.chain = chain
            self.fullchain = fullchain
        }
    }

    /// Where the key and certificate files are written.
    public enum Target: Sendable, Hashable, Codable {
        /// A folder inside a Berth volume of the same project.
        case volume(name: String, path: String)
        /// An absolute folder on the host.
        case hostPath(String)
    }

    /// A service whose containers get a signal (or a restart) after each renewal.
    public struct Reload: Sendable, Hashable, Codable {
        public var service: String
        public var signal: StopSignal
        /// Restart the containers instead of signalling them.
        public var restart: Bool

        public init(service: String, signal: StopSignal = .defaultReload, restart: Bool = false) {
            self.service = service
            self.signal = signal
            self.restart = restart
        }
    }

    public var commonName: String
    public var dnsNames: [String]
    public var ipAddresses: [String]
    public var issuer: Issuer
    public var keyAlgorithm: KeyAlgorithm
    public var duration: TimeSpan
    public var renewBefore: TimeSpan
    public var target: Target
    public var files: FileNames
    public var reload: [Reload]

    public init(
        commonName: String,
        dnsNames: [String] = [],
        ipAddresses: [String] = [],
        issuer: Issuer = .selfSigned,
        keyAlgorithm: KeyAlgorithm = .ecdsaP256,
        duration: TimeSpan = .days(90),
        renewBefore: TimeSpan = .days(30),
        target: Target,
        files: FileNames = FileNames(),
        reload: [Reload] = []
    ) {
        self.commonName = commonName
        self.dnsNames = dnsNames
        self.ipAddresses = ipAddresses
        self.issuer = issuer
        self.keyAlgorithm = keyAlgorithm
        self.duration = duration
        self.renewBefore = renewBefore
        self.target = target
        self.files = files
        self.reload = reload
    }

    static func read(_ map: MapReader) -> CertificateSpec? {
        let dnsNames = map.optional("dnsNames", default: []) { try $0.list { try $0.parse(HostName.validated) } }
        let ips = map.optional("ipAddresses", default: []) { try $0.list { try $0.parse(IPAddressText.validated) } }
        let commonName = map.optional("commonName") { try $0.nonEmptyString() }
        let issuer = map.optional("issuer", default: .selfSigned) { try $0.choice(Issuer.self) }
        let keyAlgorithm = map.optional("keyAlgorithm", default: .ecdsaP256) { try $0.choice(KeyAlgorithm.self) }
        let duration = map.optional("duration", default: .days(90)) { try $0.positiveTimeSpan() }
        // Default: a third of the duration, as ACME clients renew.
        let renewBefore = map.optional("renewBefore", default: TimeSpan(milliseconds: duration.milliseconds / 3)) { try $0.positiveTimeSpan() }
        let target = map.required("target") { try readTarget(try $0.map()) }
        let files = map.optional("files", default: FileNames()) { try readFiles(try $0.map()) }
        let reload = map.optional("reload", default: []) { try $0.list(readReload) }
        if renewBefore >= duration {
            map.report("expected renewBefore (\(renewBefore)) shorter than duration (\(duration))", field: "renewBefore")
        }
        guard let name = commonName ?? dnsNames.first ?? ips.first else {
            map.report("expected commonName, dnsNames or ipAddresses: a certificate names at least one host")
            return nil
        }
        guard let target else { return nil }
        return CertificateSpec(
            commonName: name, dnsNames: dnsNames, ipAddresses: ips, issuer: issuer, keyAlgorithm: keyAlgorithm,
            duration: duration, renewBefore: renewBefore, target: target, files: files, reload: reload
        )
    }

    private static func readFiles(_ map: MapReader) throws -> FileNames {
        defer { map.finish() }
        func name(_ key: String, _ fallback: String) -> String {
            map.optional(key, default: fallback) { reader -> String in
                let name = try reader.nonEmptyString()
                guard !name.contains("/"), name != ".", name != ".." else {
                    throw reader.fail("expected a file name without \"/\", found \"\(name)\"")
                }
                return name
            }
        }
        let defaults = FileNames()
        let files = FileNames(
            certificate: name("certificate", defaults.certificate), key: name("key", defaults.key),
            chain: name("chain", defaults.chain), fullchain: name("fullchain", defaults.fullchain)
        )
        if Set([files.certificate, files.key, files.chain, files.fullchain]).count < 4 {
            map.report("expected four different file names")
        }
        return files
    }

    private static func readTarget(_ map: MapReader) throws -> Target {
        defer { map.finish() }
        let volume = map.optional("volume") { try $0.parse(ResourceName.validated) }
        let path = map.optional("path") { reader -> String in
            let path = try reader.nonEmptyString()
            guard !path.hasPrefix("/"), !path.split(separator: "/").contains("..") else {
                throw reader.fail("expected a relative path inside the volume without \"..\", found \"\(path)\"")
            }
            return path
        }
        let hostPath = map.optional("hostPath") { try $0.absolutePath() }
        switch (volume, hostPath) {
        case (let volume?, nil): return .volume(name: volume, path: path ?? ".")
        case (nil, let hostPath?):
            if path != nil { map.report("path goes with volume; with hostPath name the full folder", field: "path") }
            return .hostPath(hostPath)
        default:
            map.report("expected either {volume: NAME, path: DIR} or {hostPath: /DIR}")
            throw AlreadyReported()
        }
    }

    private static func readReload(_ reader: ValueReader) throws -> Reload {
        let map = try reader.map()
        defer { map.finish() }
        let service = map.required("service") { try $0.parse(ResourceName.validated) }
        let signal = map.optional("signal", default: .defaultReload) { try $0.parse(StopSignal.init(parsing:)) }
        let restart = map.optional("restart", default: false) { try $0.bool() }
        guard let service else { throw AlreadyReported() }
        if restart, map.has("signal") { map.report("restart: true restarts the containers; leave out signal", field: "signal") }
        return Reload(service: service, signal: signal, restart: restart)
    }

    public init(from decoder: any Decoder) throws {
        self = try Self.decodeInput(from: decoder, read: Self.read)
    }

    private enum CodingKeys: String, CodingKey {
        case commonName, dnsNames, ipAddresses, issuer, keyAlgorithm, duration, renewBefore, target, files, reload
    }

    private enum TargetKeys: String, CodingKey { case volume, path, hostPath }

    /// Encodes as written in manifests, with `target` as `{volume, path}` or `{hostPath}`.
    public func encode(to encoder: any Encoder) throws {
        var keyed = encoder.container(keyedBy: CodingKeys.self)
        try keyed.encode(commonName, forKey: .commonName)
        try keyed.encode(dnsNames, forKey: .dnsNames)
        try keyed.encode(ipAddresses, forKey: .ipAddresses)
        try keyed.encode(issuer, forKey: .issuer)
        try keyed.encode(keyAlgorithm, forKey: .keyAlgorithm)
        try keyed.encode(duration, forKey: .duration)
        try keyed.encode(renewBefore, forKey: .renewBefore)
        var targetContainer = keyed.nestedContainer(keyedBy: TargetKeys.self, forKey: .target)
        switch target {
        case .volume(let name, let path):
            try targetContainer.encode(name, forKey: .volume)
            try targetContainer.encode(path, forKey: .path)
        case .hostPath(let path):
            try targetContainer.encode(path, forKey: .hostPath)
        }
        try keyed.encode(files, forKey: .files)
        try keyed.encode(reload, forKey: .reload)
    }
}

extension StopSignal {
    /// `SIGHUP`, the usual "reload your configuration" signal.
    public static let defaultReload = StopSignal(number: 1)
}

/// DNS host names for certificates: labels of letters, digits and hyphens, optionally a leading `*.`.
enum HostName {
    static func validated(_ name: String) throws(ValidationError) -> String {
        let body = name.hasPrefix("*.") ? String(name.dropFirst(2)) : name
        let labels = body.split(separator: ".", omittingEmptySubsequences: false)
        let valid =
            name.count <= 253 && !labels.isEmpty
            && labels.allSatisfy { label in
                (1...63).contains(label.count) && label.first != "-" && label.last != "-"
                    && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
            }
        guard valid else { throw ValidationError("expected a DNS name such as app.example.org or *.example.org, found \"\(name)\"") }
        return name.lowercased()
    }
}

/// Textual IPv4 and IPv6 addresses for certificate subject alternative names.
enum IPAddressText {
    static func validated(_ text: String) throws(ValidationError) -> String {
        guard IPAddressSyntax.isIPv4(text[...]) || IPAddressSyntax.isIPv6(text[...]) else {
            throw ValidationError("expected an IPv4 or IPv6 address such as 127.0.0.1 or ::1, found \"\(text)\"")
        }
        return text.lowercased()
    }
}

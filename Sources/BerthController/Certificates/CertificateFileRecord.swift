import BerthCerts
import BerthHostFiles
import Foundation

/// The host files Berth wrote for certificates, by absolute path: a JSON list in
/// `<state dir>/certificate-files.json` (mode 0600). A host target replaces only files listed
/// here, so a Certificate aimed at `/etc` with a file named `passwd` is refused instead of
/// renamed over it. Paths are added before their files are written: a crash in between leaves
/// a listed path with no file, never a Berth file that is not listed.
struct CertificateFileRecord: Sendable {
    private static let fileName = "certificate-files.json"
    let stateDirectory: String

    /// Where the record is, for messages.
    var location: String { stateDirectory + "/" + Self.fileName }

    /// The record's key of `name` in the host folder `folder`.
    static func key(_ folder: String, _ name: String) -> String {
        "/" + (folder.split(separator: "/") + [Substring(name)]).joined(separator: "/")
    }

    /// Every path Berth wrote; none when the record does not exist yet.
    func paths() throws -> Set<String> {
        guard let bytes = try contents() else { return [] }
        do {
            return Set(try JSONDecoder().decode([String].self, from: Data(bytes)))
        } catch {
            throw CertificateError("\(location) is not a JSON list of paths (\(error)); it lists the certificate files Berth wrote on this host")
        }
    }

    /// The record's bytes, or nil when it does not exist yet.
    private func contents() throws(HostFileError) -> [UInt8]? {
        do throws(HostFileError) {
            return try HostFolder(stateDirectory, creating: 0o700).read(Self.fileName, limit: CertificateIssuer.readLimit).bytes
        } catch {
            guard error.isMissing else { throw error }
            return nil
        }
    }

    /// Adds `paths` to the record.
    func add(_ paths: [String]) throws {
        let known = try self.paths()
        guard !known.isSuperset(of: paths) else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(known.union(paths).sorted())
        try HostFolder(stateDirectory, creating: 0o700).write(Self.fileName, Array(data), mode: 0o600)
    }
}

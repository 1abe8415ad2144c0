import BerthHostFiles
import Foundation
import Yams

/// The CLI's config file, `$BERTH_CONFIG`, else `$XDG_CONFIG_HOME/berth/config.yaml` or
/// `~/.config/berth/config.yaml`: `server:` and `token:`, both optional. Like ssh's keys and
/// libpq's `.pgpass`, a file holding a token is refused unless only its owner can access it.
struct ClientConfigFile {
    var server: String?
    var token: String?

    static func load(_ environment: [String: String]) throws -> ClientConfigFile {
        let path =
            environment["BERTH_CONFIG"]
            ?? (environment["XDG_CONFIG_HOME"].map { $0 + "/berth/config.yaml" } ?? (environment["HOME"] ?? NSHomeDirectory()) + "/.config/berth/config.yaml")
        guard let contents = try contents(path) else { return ClientConfigFile() }
        guard let values = (try? Yams.load(yaml: String(decoding: contents.bytes, as: UTF8.self))) as? [String: Any] else {
            return ClientConfigFile()
        }
        let file = ClientConfigFile(server: values["server"] as? String, token: values["token"] as? String)
        if file.token != nil, let problem = OwnerOnly.problem(path, mode: contents.mode) { throw CommandFailure("it holds a token: \(problem)") }
        return file
    }

    /// The file at `path`, or nil when there is none.
    private static func contents(_ path: String) throws -> HostFileContents? {
        do throws(HostFileError) {
            // A dotfile is often a link into a repository of them: the file it names is checked.
            return try HostFile.read(path, limit: HostFile.valueLimit, followingLinks: true)
        } catch {
            guard error.isMissing else { throw CommandFailure("cannot read the config file: \(error.message)") }
            return nil
        }
    }
}

import BerthCore
import BerthHostFiles
import Foundation

/// Turns a spec's `env` into the values a container gets: literals as they are, `fromEnv` from the
/// controller's own environment, `fromFile` from a regular file on the controller's host (at most
/// `HostFile.valueLimit`, no symbolic link, device or FIFO), age-encrypted values (and files that
/// hold one) decrypted with the controller's identity. Resolved values go to the engine only; they
/// are never logged or stored.
public struct EnvironmentResolver: Sendable {
    /// The controller's environment, where `fromEnv` looks.
    public var processEnvironment: [String: String]
    /// The age identity file encrypted values are decrypted with (`--age-identity-file`); nil: none
    /// is configured, and an encrypted value fails its create.
    public var ageIdentityFile: String?

    public init(processEnvironment: [String: String] = ProcessInfo.processInfo.environment, ageIdentityFile: String? = nil) {
        self.processEnvironment = processEnvironment
        self.ageIdentityFile = ageIdentityFile
    }

    /// Every variable resolved, or an error naming the first (in name order) that cannot be.
    /// `decryptingFiles: false` (a resource or job an API writer wrote, whose project's policy does
    /// not allow `decryptSecrets`) refuses a `fromFile` whose file is age-encrypted instead of
    /// decrypting it: the policy lets such writers name host files, not have the controller's key
    /// open them.
    public func resolve(_ env: [String: EnvValue], decryptingFiles: Bool = true) async throws(ExecutionError) -> [String: String] {
        var resolved: [String: String] = [:]
        for (name, value) in env.sorted(by: { $0.key < $1.key }) {
            switch value {
            case .literal(let text):
                resolved[name] = text
            case .fromEnv(let variable):
                guard let text = processEnvironment[variable] else {
                    throw ExecutionError("env.\(name): the controller's environment variable \(variable) is not set")
                }
                resolved[name] = text
            case .fromFile(let path):
                let text = try Self.read(path, for: name)
                guard AgeArmor.isArmored(text) else {
                    resolved[name] = text.droppingFinalNewline
                    continue
                }
                guard decryptingFiles else {
                    throw ExecutionError(
                        "env.\(name): \(path) is age-encrypted, and an API writer's resource has it decrypted only when its project's policy sets decryptSecrets: true")
                }
                resolved[name] = try await decrypt(text, for: name, from: path)
            case .encrypted(let armored):
                resolved[name] = try await decrypt(armored, for: name)
            }
        }
        return resolved
    }

    /// The plaintext of an encrypted value of the variable `name` (read from the file `path`, if
    /// any), its final newline removed like a file's (`echo s3cret | berth secret encrypt`).
    /// Errors name the variable and carry age's own words, never a plaintext.
    private func decrypt(_ armored: String, for name: String, from path: String? = nil) async throws(ExecutionError) -> String {
        let what = path.map { "the age-encrypted file \($0)" } ?? "an age-encrypted value"
        guard let identity = ageIdentityFile else {
            throw ExecutionError("env.\(name): \(what) needs the controller's age identity; start it with --age-identity-file FILE (or BERTH_AGE_IDENTITY_FILE)")
        }
        do throws(AgeError) {
            return String(decoding: try await AgeTool.decrypt(armored, identityFile: identity), as: UTF8.self).droppingFinalNewline
        } catch {
            throw ExecutionError("env.\(name): cannot decrypt \(what) with the identity \(identity): \(error.message)")
        }
    }

    /// The text of the file `path` names for the variable `name`.
    private static func read(_ path: String, for name: String) throws(ExecutionError) -> String {
        do throws(HostFileError) {
            return String(decoding: try HostFile.read(path, limit: HostFile.valueLimit).bytes, as: UTF8.self)
        } catch {
            throw ExecutionError("env.\(name): cannot read \(path) on the controller's host: \(error.message)")
        }
    }
}

extension String {
    /// The text without its one final newline, if it has one.
    fileprivate var droppingFinalNewline: String { hasSuffix("\n") ? String(dropLast()) : self }
}

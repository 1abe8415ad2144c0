import ArgumentParser
import BerthController
import Foundation

/// The age identity the controller decrypts encrypted env values with (`apply`, `serve`):
/// `--age-identity-file`, else `BERTH_AGE_IDENTITY_FILE`.
struct AgeOptions: ParsableArguments {
    @Option(
        help:
            "An age identity file (age-keygen's output, or a plugin's) that decrypts age-encrypted env values when containers are created; keep it readable only by Berth's user. Default: $BERTH_AGE_IDENTITY_FILE, else none (encrypted values then fail naming the variable)."
    )
    var ageIdentityFile: String?

    /// The resolver of containers' env with the identity, if any; an identity file that cannot be
    /// read fails at once, naming the setting.
    func environmentResolver() throws -> EnvironmentResolver {
        let environment = Settings.environment
        let identity = Settings.value(ageIdentityFile, "BERTH_AGE_IDENTITY_FILE")
        if let identity {
            let setting = ageIdentityFile == nil ? "BERTH_AGE_IDENTITY_FILE" : "--age-identity-file"
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: identity, isDirectory: &isFolder), !isFolder.boolValue, FileManager.default.isReadableFile(atPath: identity) else {
                throw ArgumentParser.ValidationError("\(setting): \(identity) is not a readable file")
            }
        }
        return EnvironmentResolver(processEnvironment: environment, ageIdentityFile: identity)
    }
}

/// What `berth --version` prints: the version, kept here only, and the commit the binary was built
/// from, which `scripts/release` stamps in for the build it makes (a plain `swift build` says
/// `unknown`).
enum BuildInfo {
    static let version = "0.9.0"
    static let commit = "unknown"

    /// `berth 0.9.0 (commit 1a2b3c4)`.
    static var versionLine: String { "berth \(version) (commit \(commit))" }
}

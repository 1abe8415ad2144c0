import ArgumentParser
import BerthController
import BerthCore
import BerthGit
import BerthHostFiles
import Foundation

/// `serve`'s git source: the manifests come from a path of a ref of a git repository instead of
/// `-f`. Every option also reads a `BERTH_GIT_…` environment variable (or the settings file, `Settings`).
struct GitSourceOptions: ParsableArguments {
    @Option(name: .customLong("git-url"), help: "Read the manifests from this git repository (https://, ssh://, git@host:path, file://) instead of -f. Default: $BERTH_GIT_URL.")
    var url: String?
    @Option(name: .customLong("git-ref"), help: "The branch, tag or commit to follow. Default: $BERTH_GIT_REF, else the remote's default branch.")
    var ref: String?
    @Option(name: .customLong("git-path"), help: "The repository's folder holding the manifests. Default: $BERTH_GIT_PATH, else its root.")
    var path: String?
    @Option(name: .customLong("git-interval"), help: "Fetch at least this often, e.g. 1m (a webhook delivery fetches at once). Default: $BERTH_GIT_INTERVAL, else 1m.")
    var interval: String?
    @Option(
        name: .customLong("git-auth-file"),
        help: "Credentials: for https a file of username=/password= lines (a token as password=), for ssh the private key. Default: $BERTH_GIT_AUTH_FILE."
    )
    var authFile: String?
    @Option(name: .customLong("git-known-hosts"), help: "ssh: the known_hosts file the server's key must be in (required for ssh). Default: $BERTH_GIT_KNOWN_HOSTS.")
    var knownHosts: String?
    @Option(
        name: .customLong("git-verify-signatures"),
        help: "Apply only commits signed by a key of this allowed-signers file (ssh-keygen's format). Default: $BERTH_GIT_VERIFY_SIGNATURES."
    )
    var allowedSigners: String?
    @Option(
        name: .customLong("git-health-timeout"),
        help: "How long an applied revision has to make every resource it changed Ready, e.g. 2m. Default: $BERTH_GIT_HEALTH_TIMEOUT, else 2m.")
    var healthTimeout: String?
    @Flag(
        name: .customLong("git-rollback"), inversion: .prefixedNo,
        help: "Go back to the last healthy revision when an applied one does not become healthy in time (default on; $BERTH_GIT_ROLLBACK=false turns it off)."
    )
    var rollback: Bool?
    @Option(
        name: .customLong("git-webhook-secret-file"),
        help: "The secret of POST /v1/hooks/git (GitHub/Gitea HMAC or GitLab token), in a file only its owner reads. Default: $BERTH_GIT_WEBHOOK_SECRET_FILE.")
    var webhookSecretFile: String?

    /// The repository's settings, or nil when no git URL is given.
    func configuration() throws -> GitSourceConfiguration? {
        guard let url = Settings.value(url, "BERTH_GIT_URL") else { return nil }
        do {
            return try GitSourceConfiguration(
                url: url, ref: Settings.value(ref, "BERTH_GIT_REF"), path: Settings.value(path, "BERTH_GIT_PATH") ?? ".", authFile: Settings.value(authFile, "BERTH_GIT_AUTH_FILE"),
                knownHostsFile: Settings.value(knownHosts, "BERTH_GIT_KNOWN_HOSTS"), allowedSignersFile: Settings.value(allowedSigners, "BERTH_GIT_VERIFY_SIGNATURES")
            )
        } catch {
            throw ArgumentParser.ValidationError("--git-url: \(error)")
        }
    }

    /// How the sync follows the ref.
    func settings() throws -> GitSyncSettings {
        let interval = try parseSpan(Settings.value(interval, "BERTH_GIT_INTERVAL") ?? "1m", option: "--git-interval")
        let health = try parseSpan(Settings.value(healthTimeout, "BERTH_GIT_HEALTH_TIMEOUT") ?? "2m", option: "--git-health-timeout")
        guard interval.milliseconds >= 1000 else { throw ArgumentParser.ValidationError("--git-interval is at least 1s, found \(interval)") }
        let rollbackFromEnvironment = Settings.environment["BERTH_GIT_ROLLBACK"].map { !["false", "0", "no", "off"].contains($0.lowercased()) }
        return GitSyncSettings(
            interval: .milliseconds(interval.milliseconds), healthTimeout: .milliseconds(health.milliseconds), rollback: rollback ?? rollbackFromEnvironment ?? true
        )
    }

    /// The secret of `--git-webhook-secret-file`, one trailing newline trimmed; nil without the
    /// flag. An empty file, or one that group or others can access, is refused.
    func webhookSecret() throws -> [UInt8]? {
        guard let path = Settings.value(webhookSecretFile, "BERTH_GIT_WEBHOOK_SECRET_FILE") else { return nil }
        let contents: HostFileContents
        do throws(HostFileError) {
            contents = try HostFile.read(path, limit: HostFile.valueLimit, followingLinks: true)
        } catch {
            throw ArgumentParser.ValidationError("--git-webhook-secret-file: \(error.message)")
        }
        if let problem = OwnerOnly.problem(path, mode: contents.mode) { throw ArgumentParser.ValidationError("--git-webhook-secret-file \(problem)") }
        var secret = contents.bytes
        if secret.last == UInt8(ascii: "\n") { secret.removeLast() }
        if secret.last == UInt8(ascii: "\r") { secret.removeLast() }
        guard !secret.isEmpty else { throw ArgumentParser.ValidationError("--git-webhook-secret-file \(path) is empty; put the webhook's secret in it") }
        return secret
    }
}

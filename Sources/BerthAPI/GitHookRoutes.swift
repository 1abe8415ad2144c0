import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// What `POST /v1/hooks/git` works with: the secret deliveries are signed with, and what an
/// accepted delivery sets off. Without one (no `--git-webhook-secret-file`) the route answers 404.
public struct GitWebhook: Sendable {
    /// The shared secret: GitHub and Gitea sign each delivery's body with it
    /// (`X-Hub-Signature-256`), GitLab sends it (`X-Gitlab-Token`).
    public var secret: [UInt8]
    /// Asks the git source to fetch now. Called once per accepted delivery, on the request's
    /// task: it must return at once, and calls that come before the fetch starts make one fetch.
    public var trigger: @Sendable () -> Void

    public init(secret: [UInt8], trigger: @escaping @Sendable () -> Void) {
        self.secret = secret
        self.trigger = trigger
    }
}

/// `POST /v1/hooks/git`: a push notice from GitHub, Gitea or GitLab. No bearer token: the
/// delivery proves itself with the webhook's secret. A delivery whose id came within the last
/// five minutes is answered 202 again without a second trigger (senders redeliver).
struct GitHookRoutes {
    let dependencies: APIDependencies
    private let deliveries = RecentDeliveries(window: .seconds(300))

    init(dependencies: APIDependencies) {
        self.dependencies = dependencies
    }

    func register(on router: Router<APIRequestContext>) {
        router.post("v1/hooks/git", use: receive)
    }

    static let signatureHeader = HTTPField.Name("X-Hub-Signature-256")!
    static let gitLabTokenHeader = HTTPField.Name("X-Gitlab-Token")!
    /// Where each sender puts the delivery's id (Gitea sends GitHub's too).
    static let deliveryHeaders = ["X-GitHub-Delivery", "X-Gitea-Delivery", "X-Gitlab-Event-UUID"].map { HTTPField.Name($0)! }

    @Sendable func receive(_ request: Request, context: APIRequestContext) async throws -> Response {
        guard let webhook = dependencies.gitWebhook else {
            throw APIError.notFound("no git webhook is configured (berth serve --git-webhook-secret-file)")
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: dependencies.bodyLimit)
        } catch is NIOTooManyBytesError {
            throw APIError(.contentTooLarge, code: "too_large", message: "the body is larger than \(dependencies.bodyLimit) bytes")
        }
        // One answer for every failure, so a caller learns nothing that helps it guess.
        guard Self.isAuthentic(request.headers, body: body, secret: webhook.secret) else {
            throw APIError(.unauthorized, code: "unauthorized", message: "the delivery is not signed with the webhook's secret")
        }
        let id = Self.deliveryHeaders.lazy.compactMap { request.headers[$0] }.first
        guard deliveries.isNew(id) else { return try JSONAnswer.response(.accepted, ["status": "duplicate"]) }
        webhook.trigger()
        return try JSONAnswer.response(.accepted, ["status": "accepted"])
    }

    /// Whether the delivery carries a valid `X-Hub-Signature-256` (`sha256=` and the hex
    /// HMAC-SHA256 of the body) or, failing that header, an `X-Gitlab-Token` equal to the secret;
    /// both compared in constant time.
    static func isAuthentic(_ headers: HTTPFields, body: ByteBuffer, secret: [UInt8]) -> Bool {
        guard !secret.isEmpty else { return false }
        if let signature = headers[signatureHeader] {
            guard signature.hasPrefix("sha256="), let code = hexBytes(signature.dropFirst("sha256=".count)) else { return false }
            return HMAC<SHA256>.isValidAuthenticationCode(code, authenticating: Array(body.readableBytesView), using: SymmetricKey(data: secret))
        }
        if let token = headers[gitLabTokenHeader] {
            // Digests of both: equal lengths, so the comparison's time says nothing of the secret's.
            let given = Array(SHA256.hash(data: Array(token.utf8))), expected = Array(SHA256.hash(data: secret))
            return ConstantTime.equal(given, expected)
        }
        return false
    }

    /// The bytes of an even number of hex digits; nil for anything else.
    static func hexBytes(_ text: Substring) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard !digits.isEmpty, digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let high = hexValue(digits[index]), let low = hexValue(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes
    }

    private static func hexValue(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// The delivery ids seen within a window, at most `capacity` of them (the oldest go first).
final class RecentDeliveries: Sendable {
    private let window: Duration
    private let capacity: Int
    private let seen = Mutex<[(id: String, at: ContinuousClock.Instant)]>([])

    init(window: Duration, capacity: Int = 1000) {
        self.window = window
        self.capacity = capacity
    }

    /// Whether `id` was not seen within the window; it is remembered from now. A delivery without
    /// an id is always new.
    func isNew(_ id: String?, now: ContinuousClock.Instant = .now) -> Bool {
        guard let id else { return true }
        return seen.withLock { seen in
            seen.removeAll { now - $0.at > window }
            guard !seen.contains(where: { $0.id == id }) else { return false }
            if seen.count >= capacity { seen.removeFirst(seen.count - capacity + 1) }
            seen.append((id, now))
            return true
        }
    }
}

import CCurl
import Foundation
import Synchronization

/// An HTTP client on libcurl's multi interface: one dedicated thread drives every transfer, so
/// blocking never reaches Swift's cooperative pool, requests run concurrently, and connections are
/// kept alive in the multi handle's shared cache. Cancelling the calling task aborts its transfer.
public final class CurlClient: Sendable {
    private let driver: CurlDriver

    /// Starts the driver thread; `name` labels it in debuggers.
    public init(name: String = "berth-curl") {
        driver = CurlDriver(name: name)
    }

    deinit {
        driver.stop()
    }

    /// Sends a request and returns the whole response. Throws ``HTTPError`` below HTTP; any status
    /// code is a response.
    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        let transfer = Transfer(request: request)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                transfer.whenComplete = continuation
                driver.submit(transfer)
            }
        } onCancel: {
            driver.cancel(transfer)
        }
    }

    /// Sends a request and returns as soon as the response headers arrive; the body follows as a
    /// stream of chunks. Ending the body's iteration early cancels the transfer.
    public func stream(_ request: HTTPRequest) async throws -> HTTPStreamResponse {
        let transfer = Transfer(request: request)
        let (body, bodyContinuation) = AsyncThrowingStream<[UInt8], any Error>.makeStream()
        let driver = driver
        bodyContinuation.onTermination = { _ in driver.cancel(transfer) }
        transfer.body = bodyContinuation
        let head = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                transfer.whenHeaders = continuation
                driver.submit(transfer)
            }
        } onCancel: {
            driver.cancel(transfer)
        }
        return HTTPStreamResponse(status: head.status, headers: head.headers, body: body)
    }
}

/// The status line and headers of a response.
struct ResponseHead: Sendable {
    var status: Int
    var headers: [String: String]
}

/// One request in flight. After ``CurlDriver/submit(_:)`` its mutable state belongs to the driver
/// thread; only `cancelled` is shared.
final class Transfer: @unchecked Sendable {
    // SAFETY: the continuations and `body` are set before submission (the driver's Mutex orders that
    // write before the driver reads them); every other field is touched only on the driver thread.
    let request: HTTPRequest
    let cancelled = Atomic<Bool>(false)
    var whenComplete: CheckedContinuation<HTTPResponse, any Error>?
    var whenHeaders: CheckedContinuation<ResponseHead, any Error>?
    var body: AsyncThrowingStream<[UInt8], any Error>.Continuation?

    var handle: UnsafeMutableRawPointer?
    var headerList: UnsafeMutablePointer<curl_slist>?
    /// curl writes its detailed error message here; freed with the transfer.
    let errorBuffer: UnsafeMutablePointer<CChar> = {
        let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        buffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        return buffer
    }()
    var status = 0
    var headers: [String: String] = [:]
    var buffer: [UInt8] = []
    var headersDelivered = false

    init(request: HTTPRequest) {
        self.request = request
    }

    deinit {
        errorBuffer.deallocate()
    }

    /// A header line from curl; a blank line ends a header block (a `100 Continue` block restarts).
    func receiveHeader(_ line: String) {
        let trimmed = Self.trimmed(line[...])
        if trimmed.hasPrefix("HTTP/") {
            let parts = trimmed.split(separator: " ", maxSplits: 2)
            status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
            headers = [:]
        } else if trimmed.isEmpty {
            if status >= 200 { deliverHeaders() }
        } else if let colon = trimmed.firstIndex(of: ":") {
            let name = trimmed[..<colon].lowercased()
            headers[name] = String(Self.trimmed(trimmed[trimmed.index(after: colon)...]))
        }
    }

    /// `text` without the spaces, tabs and line ends around it. (Foundation's `trimmingCharacters`
    /// goes through `NSString`: a twentieth of a busy controller's CPU went there.)
    static func trimmed(_ text: Substring) -> Substring {
        var text = text
        while let first = text.first, spaces.contains(first) { text.removeFirst() }
        while let last = text.last, spaces.contains(last) { text.removeLast() }
        return text
    }

    private static let spaces: Set<Character> = [" ", "\t", "\r", "\n", "\r\n"]

    func receiveBody(_ bytes: UnsafeRawBufferPointer) {
        if let body {
            deliverHeaders()
            body.yield(Array(bytes))
        } else {
            buffer.append(contentsOf: bytes)
        }
    }

    private func deliverHeaders() {
        guard !headersDelivered, let whenHeaders else { return }
        headersDelivered = true
        self.whenHeaders = nil
        whenHeaders.resume(returning: ResponseHead(status: status, headers: headers))
    }

    /// Hands the outcome to whoever waits: the caller of `send`, or the stream's head and body.
    func complete(_ error: HTTPError?) {
        if let error {
            whenComplete?.resume(throwing: error)
            whenHeaders?.resume(throwing: error)
            body?.finish(throwing: error)
        } else {
            whenComplete?.resume(returning: HTTPResponse(status: status, headers: headers, body: buffer))
            deliverHeaders()
            body?.finish()
        }
        whenComplete = nil
        whenHeaders = nil
        body = nil
    }
}

/// The thread that owns the curl multi handle and every easy handle.
final class CurlDriver: @unchecked Sendable {
    // SAFETY: `multi` and `active` are used only on the driver thread; `inbox` is behind a Mutex;
    // `curl_multi_wakeup` is documented as callable from any thread.
    private enum Command {
        case start(Transfer)
        case cancel(Transfer)
    }

    private struct Inbox {
        var commands: [Command] = []
        var stopping = false
    }

    private let multi: UnsafeMutableRawPointer
    private let inbox = Mutex(Inbox())
    private let finished = DispatchSemaphore(value: 0)
    private var active: [ObjectIdentifier: Transfer] = [:]

    init(name: String) {
        guard let multi = curl_multi_init() else { preconditionFailure("curl_multi_init failed: out of memory") }
        self.multi = multi
        let thread = Thread { [self] in run() }
        thread.name = name
        thread.start()
    }

    func submit(_ transfer: Transfer) {
        inbox.withLock { $0.commands.append(.start(transfer)) }
        curl_multi_wakeup(multi)
    }

    func cancel(_ transfer: Transfer) {
        transfer.cancelled.store(true, ordering: .sequentiallyConsistent)
        inbox.withLock { $0.commands.append(.cancel(transfer)) }
        curl_multi_wakeup(multi)
    }

    /// Cancels what is in flight and ends the thread; returns when it has.
    func stop() {
        inbox.withLock { $0.stopping = true }
        curl_multi_wakeup(multi)
        finished.wait()
    }

    private func run() {
        while true {
            let (commands, stopping) = inbox.withLock { inbox in
                defer { inbox.commands = [] }
                return (inbox.commands, inbox.stopping)
            }
            for command in commands {
                switch command {
                case .start(let transfer): start(transfer)
                case .cancel(let transfer): finish(transfer, HTTPError(kind: .cancelled, message: "request cancelled"))
                }
            }
            if stopping {
                for transfer in active.values { finish(transfer, HTTPError(kind: .cancelled, message: "HTTP client stopped")) }
                break
            }
            var running: Int32 = 0
            curl_multi_perform(multi, &running)
            collectFinished()
            curl_multi_poll(multi, nil, 0, 1000, nil)
        }
        curl_multi_cleanup(multi)
        finished.signal()
    }

    private func start(_ transfer: Transfer) {
        guard !transfer.cancelled.load(ordering: .sequentiallyConsistent) else {
            transfer.complete(HTTPError(kind: .cancelled, message: "request cancelled"))
            return
        }
        guard let handle = curl_easy_init() else {
            transfer.complete(HTTPError(kind: .transfer, message: "curl_easy_init failed: out of memory"))
            return
        }
        transfer.handle = handle
        configure(handle, for: transfer)
        active[ObjectIdentifier(transfer)] = transfer
        curl_multi_add_handle(multi, handle)
    }

    private func configure(_ handle: UnsafeMutableRawPointer, for transfer: Transfer) {
        let request = transfer.request
        let context = Unmanaged.passUnretained(transfer).toOpaque()
        berth_curl_set_pointer(handle, CURLOPT_PRIVATE, context)
        berth_curl_set_string(handle, CURLOPT_URL, request.url)
        berth_curl_set_long(handle, CURLOPT_NOSIGNAL, 1)
        berth_curl_set_long(handle, CURLOPT_CONNECTTIMEOUT_MS, 10_000)
        if let timeout = request.timeout {
            let (seconds, attoseconds) = timeout.components
            berth_curl_set_long(handle, CURLOPT_TIMEOUT_MS, Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000))
        }
        berth_curl_set_pointer(handle, CURLOPT_ERRORBUFFER, transfer.errorBuffer)
        switch request.method {
        case "GET": berth_curl_set_long(handle, CURLOPT_HTTPGET, 1)
        case "HEAD": berth_curl_set_long(handle, CURLOPT_NOBODY, 1)
        default: berth_curl_set_string(handle, CURLOPT_CUSTOMREQUEST, request.method)
        }
        if let body = request.body {
            berth_curl_set_offset(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
            body.withUnsafeBufferPointer { bytes in
                _ = berth_curl_set_pointer(handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: bytes.baseAddress ?? UnsafePointer(bitPattern: 1)!))
            }
        } else if request.method == "POST" || request.method == "PUT" {
            berth_curl_set_offset(handle, CURLOPT_POSTFIELDSIZE_LARGE, 0)
            berth_curl_set_string(handle, CURLOPT_COPYPOSTFIELDS, "")
        }
        var list: UnsafeMutablePointer<curl_slist>?
        for (name, value) in request.headers { list = curl_slist_append(list, "\(name): \(value)") }
        if request.awsSigV4 == nil {
            // No `Expect: 100-continue` round trip; not for SigV4, where curl would sign a header it does not send.
            list = curl_slist_append(list, "Expect:")
        }
        transfer.headerList = list
        berth_curl_set_list(handle, CURLOPT_HTTPHEADER, list)
        switch request.connection {
        case .unixSocket(let path):
            berth_curl_set_string(handle, CURLOPT_UNIX_SOCKET_PATH, path)
        case .tcp(let tls?):
            berth_curl_set_string(handle, CURLOPT_SSLCERT, tls.certificate)
            berth_curl_set_string(handle, CURLOPT_SSLKEY, tls.key)
            berth_curl_set_string(handle, CURLOPT_CAINFO, tls.certificateAuthority)
            berth_curl_set_long(handle, CURLOPT_SSL_VERIFYPEER, tls.verifyPeer ? 1 : 0)
            berth_curl_set_long(handle, CURLOPT_SSL_VERIFYHOST, tls.verifyPeer ? 2 : 0)
        case .tcp(nil):
            break
        }
        if let signing = request.awsSigV4 {
            berth_curl_set_string(handle, CURLOPT_AWS_SIGV4, signing.provider)
            berth_curl_set_string(handle, CURLOPT_USERPWD, "\(signing.accessKey):\(signing.secretKey)")
        }
        berth_curl_set_data_callback(
            handle, CURLOPT_WRITEFUNCTION,
            { buffer, size, count, context in
                let transfer = Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue()
                transfer.receiveBody(UnsafeRawBufferPointer(start: buffer, count: size * count))
                return size * count
            })
        berth_curl_set_pointer(handle, CURLOPT_WRITEDATA, context)
        berth_curl_set_data_callback(
            handle, CURLOPT_HEADERFUNCTION,
            { buffer, size, count, context in
                let transfer = Unmanaged<Transfer>.fromOpaque(context!).takeUnretainedValue()
                let bytes = UnsafeRawBufferPointer(start: buffer, count: size * count)
                transfer.receiveHeader(String(decoding: bytes, as: UTF8.self))
                return size * count
            })
        berth_curl_set_pointer(handle, CURLOPT_HEADERDATA, context)
    }

    private func collectFinished() {
        var queued: Int32 = 0
        while let message = curl_multi_info_read(multi, &queued) {
            guard message.pointee.msg == CURLMSG_DONE, let handle = message.pointee.easy_handle else { continue }
            let code = message.pointee.data.result
            var context: UnsafeMutablePointer<CChar>?
            berth_curl_get_pointer(handle, CURLINFO_PRIVATE, &context)
            guard let context else { continue }
            let transfer = Unmanaged<Transfer>.fromOpaque(UnsafeRawPointer(context)).takeUnretainedValue()
            finish(transfer, code == CURLE_OK ? nil : Self.error(code, transfer))
        }
    }

    /// Releases the easy handle and hands the outcome over; a transfer finishes exactly once.
    private func finish(_ transfer: Transfer, _ error: HTTPError?) {
        guard active.removeValue(forKey: ObjectIdentifier(transfer)) != nil, let handle = transfer.handle else { return }
        curl_multi_remove_handle(multi, handle)
        curl_easy_cleanup(handle)
        curl_slist_free_all(transfer.headerList)
        transfer.handle = nil
        transfer.headerList = nil
        transfer.complete(error)
    }

    private static func error(_ code: CURLcode, _ transfer: Transfer) -> HTTPError {
        let detail = String(cString: transfer.errorBuffer)
        let message = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
        switch code {
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            return HTTPError(kind: .unreachable, message: message)
        case CURLE_OPERATION_TIMEDOUT:
            return HTTPError(kind: .timeout, message: message)
        default:
            return HTTPError(kind: .transfer, message: message)
        }
    }
}

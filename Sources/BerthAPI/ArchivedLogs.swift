import BerthObjectStore
import BerthStore
import Hummingbird
import NIOCore

/// `GET /v1/jobs/{id}/logs?full=true`: one stream of an attempt's archived output, read from
/// its bucket and decompressed chunk by chunk as it is sent (never held whole).
enum ArchivedLogs {
    /// The archived stream `stream` (`stdout` or `stderr`) of `attempt` (the latest archived
    /// when nil) among `archives`, as a plain-text response.
    static func response(_ archives: [JobLogArchive], attempt: Int?, stream: String, storage: (any ObjectStorage)?) async throws -> Response {
        guard let storage else {
            throw APIError(.conflict, code: "conflict", message: "this server has no object storage configured (BERTH_S3_ENDPOINT), so archived output cannot be read")
        }
        guard let archive = archives.archive(attempt: attempt) else {
            throw APIError.notFound(attempt.map { "attempt \($0) of this job has no archived output" } ?? "this job has no archived output (no logArchive, or no attempt ended yet)")
        }
        guard let key = archive.key(stream: stream) else { throw APIError.badParameter("stream", "stream is stdout or stderr, not \"\(stream)\"") }
        let plain = GzipStream.decompressing(try await storage.objectStream(archive.bucket, key: key))
        let body = ResponseBody { writer in
            for try await chunk in plain { try await writer.write(ByteBuffer(bytes: chunk)) }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: body)
    }
}

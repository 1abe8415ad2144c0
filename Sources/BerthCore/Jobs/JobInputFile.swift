/// A file submitted with a job, written into its container before the worker starts.
public struct JobInputFile: Sendable, Hashable {
    /// Absolute and normalized (``normalizedPath(_:)``).
    public var path: String
    public var content: [UInt8]

    public init(path: String, content: [UInt8]) {
        self.path = path
        self.content = content
    }

    /// At most this many files per job.
    public static let maxCount = 16
    /// At most this many bytes (decoded) in all of a job's files together.
    public static let maxTotalBytes = 512 << 10

    /// `path` made canonical: absolute, without empty or `.` segments, not the root, no `..`.
    public static func normalizedPath(_ path: String) throws(ValidationError) -> String {
        guard path.hasPrefix("/") else { throw refusal("expected an absolute path starting with /, found \"\(path)\"") }
        let segments = path.split(separator: "/").filter { $0 != "." }
        guard !segments.contains("..") else { throw refusal("a path may not contain .., found \"\(path)\"") }
        guard !segments.isEmpty else { throw refusal("expected a path below /, found \"\(path)\"") }
        guard path.utf8.count <= 1024, !path.contains("\0") else { throw refusal("expected a path of at most 1024 bytes without NUL") }
        return "/" + segments.joined(separator: "/")
    }

    /// Whether the (normalized) path is one of `inputPaths` or lies under one.
    public static func isConfined(_ path: String, to inputPaths: [String]) -> Bool {
        inputPaths.contains { path == $0 || path.hasPrefix($0 == "/" ? "/" : $0 + "/") }
    }

    /// Checks a job's files (paths as submitted) against its spec's `inputPaths` and the limits;
    /// every problem at `files.<path as submitted>`. Returns the files with normalized paths, by path.
    public static func checked(_ files: [JobInputFile], inputPaths: [String]) throws(ValidationError) -> [JobInputFile] {
        var issues: [ValidationIssue] = []
        var accepted: [JobInputFile] = []
        var seen: Set<String> = []
        if files.count > maxCount {
            issues.append(ValidationIssue(path: "files", message: "at most \(maxCount) input files per job, found \(files.count)"))
        }
        var total = 0
        var overTotal = false
        for file in files {
            let field = "files.\(file.path)"
            let path: String
            do {
                path = try normalizedPath(file.path)
            } catch {
                issues += error.issues.map { ValidationIssue(path: field, message: $0.message) }
                continue
            }
            guard isConfined(path, to: inputPaths) else {
                let allowed = inputPaths.isEmpty ? "the job declares no inputPaths, so it takes no files" : "inputPaths: \(inputPaths.joined(separator: ", "))"
                issues.append(ValidationIssue(path: field, message: "\(path) is outside the job's input paths (\(allowed))"))
                continue
            }
            guard seen.insert(path).inserted else {
                issues.append(ValidationIssue(path: field, message: "\(path) is given twice"))
                continue
            }
            total += file.content.count
            if total > maxTotalBytes, !overTotal {
                overTotal = true
                issues.append(ValidationIssue(path: field, message: "input files total more than \(maxTotalBytes) bytes (the limit per job)"))
            }
            accepted.append(JobInputFile(path: path, content: file.content))
        }
        guard issues.isEmpty else { throw ValidationError(issues: issues) }
        return accepted.sorted { $0.path < $1.path }
    }

    private static func refusal(_ message: String) -> ValidationError {
        ValidationError(issues: [ValidationIssue(message: message)])
    }
}

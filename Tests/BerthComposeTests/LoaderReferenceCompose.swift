import BerthCore
import BerthManifests
import Foundation
import Testing

@testable import BerthCompose

/// Debian's `docker-compose` 1.29 (`/usr/bin/docker-compose`), run as the reference the
/// differential tests compare the loader with. Each run is bounded by `timeout`, which stops the
/// tool (SIGTERM, then SIGKILL 5 seconds later) when it runs longer than a minute and a half.
enum LoaderReferenceCompose {
    static let executable = "/usr/bin/docker-compose"

    /// What `docker-compose config` printed, or its error output as the thrown message.
    static func config(files: [String], projectDirectory: String, environment: [String: String]) async throws -> String {
        try #require(FileManager.default.isExecutableFile(atPath: executable), "docker-compose 1.29 is missing; scripts/test installs it (apt package docker-compose)")
        let output = projectDirectory + "/.reference-config.out"
        let errors = projectDirectory + "/.reference-config.err"
        for file in [output, errors] {
            try #require(FileManager.default.createFile(atPath: file, contents: nil), "cannot create \(file)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        process.arguments = ["-k", "5", "90", executable] + files.flatMap { ["-f", $0] } + ["--project-directory", projectDirectory, "config"]
        process.currentDirectoryURL = URL(fileURLWithPath: projectDirectory)
        process.environment = environment.merging(["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"]) { given, _ in given }
        process.standardInput = FileHandle.nullDevice
        let outputHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        let errorsHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: errors))
        process.standardOutput = outputHandle
        process.standardError = errorsHandle
        let status = try await run(process)
        defer {
            try? outputHandle.close()
            try? errorsHandle.close()
            try? FileManager.default.removeItem(atPath: output)
            try? FileManager.default.removeItem(atPath: errors)
        }
        let printed = try String(contentsOfFile: output, encoding: .utf8)
        guard status == 0 else {
            throw ReferenceFailure(message: "docker-compose config exited \(status): " + ((try? String(contentsOfFile: errors, encoding: .utf8)) ?? ""))
        }
        return printed
    }

    /// Runs `process` and waits for its exit status; `timeout -k` in front of the tool bounds the wait.
    private static func run(_ process: Process) async throws -> Int32 {
        try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
    }
}

/// The reference tool failed.
struct ReferenceFailure: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

import BerthCore
import Foundation

/// Finds manifest files on disk and parses them, reporting the problems of every file together.
public enum ManifestFiles {
    /// The files to read for `paths`: a named file is kept as given, in order; a folder adds its
    /// `*.yaml` and `*.yml` files, recursively and sorted by path, skipping names that start with `.`.
    /// A file reached twice is read once. Throws one issue per path that does not exist.
    public static func collect(paths: [String]) throws(ValidationError) -> [String] {
        let (files, issues) = gather(paths)
        guard issues.isEmpty else { throw ValidationError(issues: issues) }
        return files
    }

    /// Reads and parses every file of `paths` (see `collect(paths:)`). One bad file never hides
    /// another's problems: `issues` holds those of all paths and files, and `documents` those of the
    /// files that parsed cleanly.
    public static func loadDocuments(
        paths: [String],
        limits: ManifestLimits = .init()
    ) -> (documents: [ManifestDocument], issues: [ValidationIssue]) {
        var (files, issues) = gather(paths)
        var documents: [ManifestDocument] = []
        for file in files {
            do throws(ValidationError) {
                documents += try YAMLDocumentParser.parse(read(file, limits: limits), file: file, limits: limits)
            } catch {
                issues += error.issues
            }
        }
        return (documents, issues)
    }

    /// Reads at most one byte more than the limit allows, so the parser reports an oversized file
    /// without the whole of it in memory.
    static func read(_ file: String, limits: ManifestLimits) throws(ValidationError) -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: file),
            let data = try? handle.read(upToCount: limits.maxFileBytes + 1) ?? Data()
        else {
            throw ValidationError(issues: [ValidationIssue(message: "cannot read `\(file)`; check that it is a readable file")])
        }
        return Array(data)
    }

    private static func gather(_ paths: [String]) -> (files: [String], issues: [ValidationIssue]) {
        var files: [String] = []
        var seen: Set<String> = []
        var issues: [ValidationIssue] = []
        for path in paths {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
                issues.append(ValidationIssue(message: "`\(path)` does not exist; name an existing manifest file or folder"))
                continue
            }
            let found = isFolder.boolValue ? manifests(inFolder: path, issues: &issues) : [path]
            files += found.filter { seen.insert($0).inserted }
        }
        return (files, issues)
    }

    /// Walks with a work list rather than recursion, and enters each real folder once, so symbolic
    /// link loops end.
    private static func manifests(inFolder root: String, issues: inout [ValidationIssue]) -> [String] {
        var found: [String] = []
        var pending = [root]
        var visited: Set<String> = []
        while let folder = pending.popLast() {
            guard visited.insert(URL(fileURLWithPath: folder).resolvingSymlinksInPath().path).inserted else { continue }
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else {
                issues.append(ValidationIssue(message: "cannot list folder `\(folder)`; check its permissions"))
                continue
            }
            for name in names where !name.hasPrefix(".") {
                let path = folder.hasSuffix("/") ? folder + name : folder + "/" + name
                var isFolder: ObjCBool = false
                if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
                    pending.append(path)
                } else if name.hasSuffix(".yaml") || name.hasSuffix(".yml") {
                    found.append(path)
                }
            }
        }
        return found.sorted()
    }
}

import BerthCore

extension DockerEngine {
    /// Each file through the archive API into the deepest of its folders that exists: the folders
    /// below it travel in the archive (mode 0755), so an existing folder (`/tmp`, say) never gets
    /// its mode or owner changed. Files are 0644, owned by root.
    public func writeInputFiles(named name: String, files: [JobInputFile]) async throws(DockerError) {
        for file in files {
            var segments = file.path.split(separator: "/").map(String.init)
            let fileName = segments.removeLast()
            var created: [String] = []
            while true {
                let folder = "/" + segments.joined(separator: "/")
                var entries: [TarArchive.Entry] = []
                for depth in created.indices {
                    entries.append(TarArchive.Entry(path: created[...depth].joined(separator: "/"), kind: .directory, mode: 0o755))
                }
                entries.append(TarArchive.Entry(path: (created + [fileName]).joined(separator: "/"), contents: file.content))
                do {
                    try await client.writeArchive(name, path: folder, entries: entries)
                    break
                } catch  where error.code == .notFound && !segments.isEmpty {
                    created.insert(segments.removeLast(), at: 0)
                }
            }
        }
    }
}

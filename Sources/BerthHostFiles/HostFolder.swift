import Glibc

/// A folder on the controller's host, opened one component at a time from `/` (or the working
/// directory, for a relative path) with `O_DIRECTORY | O_NOFOLLOW`, so no symbolic link anywhere
/// on its path is followed. Its files are read and written by name relative to the open folder
/// (`openat`, `renameat`): what was checked is where the bytes land, even if the path is
/// changed meanwhile.
public final class HostFolder: Sendable {
    /// The path as given, for messages.
    public let path: String
    private let descriptor: Int32

    /// Opens the folder at `path`. With `creating`, missing folders on the way are made with that
    /// mode; without, a missing one throws an error whose `isMissing` is true.
    public init(_ path: String, creating mode: mode_t? = nil) throws(HostFileError) {
        self.path = path
        var current = open(path.hasPrefix("/") ? "/" : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard current >= 0 else { throw .system(path, "open", errno) }
        var walked = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") where component != "." {
            walked += "/" + component
            var next = openat(current, String(component), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if next < 0, errno == ENOENT, let mode {
                guard mkdirat(current, String(component), mode) == 0 || errno == EEXIST else {
                    let number = errno
                    close(current)
                    throw .system(walked, "mkdir", number)
                }
                next = openat(current, String(component), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            }
            guard next >= 0 else {
                let error = HostFileError.openFailure(walked, errno: errno, in: current, String(component), expectingFolder: true)
                close(current)
                throw error
            }
            close(current)
            current = next
        }
        descriptor = current
    }

    deinit { close(descriptor) }

    /// Whether anything (a file, a folder, a link…) is at `name`.
    public func contains(_ name: String) throws(HostFileError) -> Bool {
        var status = stat()
        if fstatat(descriptor, name, &status, AT_SYMLINK_NOFOLLOW) == 0 { return true }
        guard errno == ENOENT else { throw .system(path + "/" + name, "stat", errno) }
        return false
    }

    /// The regular file `name`, at most `limit` bytes (see `HostFile`).
    public func read(_ name: String, limit: Int) throws(HostFileError) -> HostFileContents {
        try HostFile.read(at: descriptor, name, shownAs: path + "/" + name, limit: limit)
    }

    /// Writes `bytes` to `name` whole: a new file with exactly `mode` before any byte lands,
    /// fsynced, then renamed over the old name, so a reader sees the old or the new file and a
    /// key is never readable by others. A symbolic link at `name` is replaced, not followed.
    public func write(_ name: String, _ bytes: [UInt8], mode: mode_t) throws(HostFileError) {
        let shown = path + "/" + name
        let temporary = ".\(name).berth-\(UInt32.random(in: .min ... .max))"
        let file = openat(descriptor, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard file >= 0 else { throw .system(shown, "open", errno) }
        do throws(HostFileError) {
            // open's mode is narrowed by the umask; the file gets exactly `mode`.
            let failure = Self.fill(file, bytes, mode: mode)
            close(file)
            if let failure { throw HostFileError.system(shown, failure.call, failure.errno) }
            guard renameat(descriptor, temporary, descriptor, name) == 0 else { throw .system(shown, "rename", errno) }
        } catch {
            unlinkat(descriptor, temporary, 0)
            throw error
        }
        // The rename itself survives a power loss once the folder is synced.
        guard fsync(descriptor) == 0 else { throw .system(path, "fsync", errno) }
    }

    /// Sets the mode, writes every byte and syncs; the failed call and its errno, if one failed.
    private static func fill(_ file: Int32, _ bytes: [UInt8], mode: mode_t) -> (call: String, errno: Int32)? {
        guard fchmod(file, mode) == 0 else { return ("chmod", errno) }
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { Glibc.write(file, $0.baseAddress! + written, $0.count - written) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return ("write", errno) }
            written += count
        }
        guard fsync(file) == 0 else { return ("fsync", errno) }
        return nil
    }
}

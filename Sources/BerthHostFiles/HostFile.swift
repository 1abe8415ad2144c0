import Glibc

/// A regular file's bytes and permission bits, read from one open descriptor.
public struct HostFileContents: Sendable {
    public var bytes: [UInt8]
    /// The permission bits (`st_mode & 0o7777`) of the file that was read.
    public var mode: UInt32
}

/// Files and folders holding secrets must be their owner's alone.
public enum OwnerOnly {
    /// What is wrong with `path`, whose permission bits are `mode`, when group or others may
    /// access it, and the `chmod` (`fix`: 600 for a file, 700 for a folder) that mends it; nil
    /// when only its owner may.
    public static func problem(_ path: String, mode: UInt32, fix: String = "600") -> String? {
        guard mode & 0o077 != 0 else { return nil }
        return "\(path) can be accessed by group or others (mode 0\(String(mode & 0o777, radix: 8))); run chmod \(fix) \(path)"
    }

    /// The problem of the file or folder at `path` as it is now; nil when there is none, or no
    /// such path.
    public static func problem(at path: String, fix: String = "600") -> String? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return problem(path, mode: UInt32(status.st_mode) & 0o7777, fix: fix)
    }
}

/// Files on the controller's host at paths a manifest or a user names (`fromFile`, a client
/// config file): regular files only, opened without following a symbolic link in the last
/// component (`O_NOFOLLOW`) and without waiting for a writer (`O_NONBLOCK`, so a FIFO cannot
/// hang the open), checked with `fstat` on the descriptor that is then read, and read up to a
/// limit, so a device such as `/dev/zero` is refused instead of read without end.
public enum HostFile {
    /// The largest `fromFile` value (64 KiB): secrets and small settings, not data.
    public static let valueLimit = 64 * 1024

    /// The whole of the regular file at `path`, at most `limit` bytes. `followingLinks` lets the
    /// last component be a symbolic link (a file the user names for themselves, not a manifest).
    public static func read(_ path: String, limit: Int, followingLinks: Bool = false) throws(HostFileError) -> HostFileContents {
        try read(at: AT_FDCWD, path, shownAs: path, limit: limit, followingLinks: followingLinks)
    }

    /// Opens `name` relative to the folder `folder` (or the working directory) and reads it.
    static func read(at folder: Int32, _ name: String, shownAs path: String, limit: Int, followingLinks: Bool = false) throws(HostFileError) -> HostFileContents {
        let descriptor = openat(folder, name, O_RDONLY | O_NONBLOCK | O_CLOEXEC | (followingLinks ? 0 : O_NOFOLLOW))
        guard descriptor >= 0 else { throw HostFileError.openFailure(path, errno: errno, in: folder, name, expectingFolder: false) }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw .system(path, "fstat", errno) }
        try HostFileError.expect(path, mode: status.st_mode)
        guard status.st_size <= limit else { throw .tooLarge(path, limit: limit) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { throw .system(path, "read", errno) }
            if count == 0 { break }
            bytes += buffer[..<count]
            // The file may grow after fstat: the limit holds for what is read.
            guard bytes.count <= limit else { throw .tooLarge(path, limit: limit) }
        }
        return HostFileContents(bytes: bytes, mode: UInt32(status.st_mode) & 0o7777)
    }
}

/// What a file operation on the host found instead of what it expected; the message names the
/// file and never its contents.
public struct HostFileError: Error, Sendable, Hashable, CustomStringConvertible {
    private enum Code: Sendable, Hashable {
        case missing, notARegularFile, notAFolder, symbolicLink, tooLarge, system
    }

    private let code: Code
    public let message: String

    public var description: String { message }

    /// Nothing is at the path (or a folder on its way is missing).
    public var isMissing: Bool { code == .missing }

    static func missing(_ path: String) -> HostFileError {
        HostFileError(code: .missing, message: "\(path) does not exist")
    }

    static func symbolicLink(_ path: String) -> HostFileError {
        HostFileError(code: .symbolicLink, message: "\(path) is a symbolic link; Berth does not follow links here: name the file or folder it points to")
    }

    static func tooLarge(_ path: String, limit: Int) -> HostFileError {
        HostFileError(code: .tooLarge, message: "\(path) is larger than \(limit % 1024 == 0 ? "\(limit / 1024) KiB" : "\(limit) bytes"), the most Berth reads from it")
    }

    static func system(_ path: String, _ call: String, _ number: Int32) -> HostFileError {
        HostFileError(code: .system, message: "\(path): \(call) failed: \(String(cString: strerror(number)))")
    }

    /// Throws unless `mode` (a `st_mode`) is a regular file's, or a folder's when `folder` is true.
    static func expect(_ path: String, mode: mode_t, folder: Bool = false) throws(HostFileError) {
        let type = mode & S_IFMT
        guard type != (folder ? S_IFDIR : S_IFREG) else { return }
        if type == S_IFLNK { throw symbolicLink(path) }
        throw HostFileError(
            code: folder ? .notAFolder : .notARegularFile, message: "\(path) is \(kind(mode)), expected \(folder ? "a folder" : "a regular file")"
        )
    }

    /// Why opening `name` in `folder` failed with `number`, in terms of what is there: ELOOP is a
    /// link `O_NOFOLLOW` refused, ENXIO a socket, ENOTDIR a file where a folder was expected.
    static func openFailure(_ path: String, errno number: Int32, in folder: Int32, _ name: String, expectingFolder: Bool) -> HostFileError {
        if number == ENOENT { return missing(path) }
        var status = stat()
        guard fstatat(folder, name, &status, AT_SYMLINK_NOFOLLOW) == 0 else { return system(path, "open", number) }
        do throws(HostFileError) {
            try expect(path, mode: status.st_mode, folder: expectingFolder)
        } catch {
            return error
        }
        return system(path, "open", number)
    }

    private static func kind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFDIR: "a folder"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFIFO: "a FIFO (named pipe)"
        case S_IFSOCK: "a socket"
        case S_IFLNK: "a symbolic link"
        default: "not a regular file"
        }
    }
}

import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Replaces a file so that readers see the old bytes or the new ones, never a mix:
/// a temporary file in the same directory, written and fsync'ed, renamed over the target
/// (rename(2) is atomic within a file system), then the directory fsync'ed so the rename
/// itself survives a crash.
///
/// The new file keeps the old one's mode and, when allowed, its owner (the stack's
/// databases file belongs to `postgres`, who runs PgBouncer); a new file is 0644.
/// On any failure the temporary file is removed and the target is untouched.
public struct AtomicFileWriter: Sendable {
    /// Runs after the temporary file is complete and before the rename; a throw aborts the
    /// write. Tests use it to simulate a crash between write and rename.
    public var beforeRename: @Sendable (_ temporaryPath: String) throws -> Void

    public init(beforeRename: @escaping @Sendable (_ temporaryPath: String) throws -> Void = { _ in }) {
        self.beforeRename = beforeRename
    }

    public func write(_ text: String, to path: String) throws(AtomicWriteError) {
        let directory = (path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        let temporary = "\(directory)/.\(name).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"

        var existing = stat()
        let hasExisting = stat(path, &existing) == 0
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, hasExisting ? existing.st_mode & 0o7777 : 0o644)
        guard fd >= 0 else { throw AtomicWriteError(path: path, step: "create \(temporary)", errno: errno) }
        var renamed = false
        defer { if !renamed { unlink(temporary) } }
        try fill(fd, with: text, path: path, existing: hasExisting ? existing : nil)
        do {
            try beforeRename(temporary)
        } catch {
            throw AtomicWriteError(path: path, step: "before rename: \(error)", errno: 0)
        }
        guard rename(temporary, path) == 0 else { throw AtomicWriteError(path: path, step: "rename", errno: errno) }
        renamed = true
        let dirFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dirFD >= 0 else { throw AtomicWriteError(path: path, step: "open directory", errno: errno) }
        defer { close(dirFD) }
        guard fsync(dirFD) == 0 else { throw AtomicWriteError(path: path, step: "fsync directory", errno: errno) }
    }

    private func fill(_ fd: Int32, with text: String, path: String, existing: stat?) throws(AtomicWriteError) {
        defer { close(fd) }
        try writeAll(Array(text.utf8), fd: fd, path: path)
        if let existing {
            // open() applied the umask; set the old mode exactly, and the old owner where
            // permitted (root may; an ordinary user keeps ownership, which is fine).
            _ = fchmod(fd, existing.st_mode & 0o7777)
            _ = fchown(fd, existing.st_uid, existing.st_gid)
        }
        guard fsync(fd) == 0 else { throw AtomicWriteError(path: path, step: "fsync", errno: errno) }
    }

    private func writeAll(_ bytes: [UInt8], fd: Int32, path: String) throws(AtomicWriteError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw AtomicWriteError(path: path, step: "write", errno: errno)
            }
            offset += n
        }
    }
}

/// A write that did not replace the file; the old file, if any, is intact.
public struct AtomicWriteError: Error, Sendable, Equatable, CustomStringConvertible {
    public let path: String
    /// What failed: `create ...`, `write`, `fsync`, `rename`, ...
    public let step: String
    /// 0 when the failure was not a system call's.
    public let errno: Int32

    public init(path: String, step: String, errno: Int32) {
        self.path = path
        self.step = step
        self.errno = errno
    }

    public var description: String {
        let reason = errno == 0 ? "" : ": \(String(cString: strerror(errno)))"
        return "cannot write \(path): \(step)\(reason)"
    }
}

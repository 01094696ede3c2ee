import Foundation
import Testing
import SocketIO
#if canImport(Glibc)
import Glibc
#endif

struct UnixSocketTests {
    static func path() -> String { "/tmp/tg-socketio-\(UUID().uuidString.prefix(8)).sock" }

    @Test func socket_isOwnerOnly_0600() throws {
        let path = Self.path()
        let fd = try Socket.listen(unixPath: path)
        defer { close(fd); unlink(path) }
        var info = stat()
        #expect(lstat(path, &info) == 0)
        #expect(info.st_mode & S_IFMT == S_IFSOCK)
        #expect(info.st_mode & 0o777 == 0o600, "mode \(String(info.st_mode & 0o777, radix: 8))")
    }

    @Test func liveSocket_isRefused_staleSocketIsReplaced() throws {
        let path = Self.path()
        let live = try Socket.listen(unixPath: path)
        defer { unlink(path) }
        #expect {
            _ = try Socket.listen(unixPath: path)
        } throws: { "\($0)".contains("another process is listening") }
        // Closed without removing its path: what a killed process leaves behind.
        close(live)
        let replacement = try Socket.listen(unixPath: path)
        close(replacement)
    }

    @Test func pathThatIsNotASocket_isRefusedAndLeftAlone() throws {
        let path = Self.path()
        try "keep me".write(toFile: path, atomically: true, encoding: .utf8)
        defer { unlink(path) }
        #expect {
            _ = try Socket.listen(unixPath: path)
        } throws: { "\($0)".contains("is not a socket") }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "keep me")
    }

    @Test func pathTooLongForSunPath_isRefused() {
        let path = "/tmp/" + String(repeating: "p", count: 200)
        #expect(throws: SocketError.self) { _ = try Socket.listen(unixPath: path) }
    }
}

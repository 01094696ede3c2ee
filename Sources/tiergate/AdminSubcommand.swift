import Admin
import ArgumentParser
import Foundation
import TierModel
#if canImport(Glibc)
import Glibc
#endif

/// `tiergate admin --socket PATH COMMAND...`: sends one command to a running TierGate's
/// admin socket and prints the JSON reply. Exits 1 with the error on stderr when the reply
/// says `"ok":false` or the socket cannot be reached.
struct AdminSubcommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin",
        abstract: "Send a command to a running TierGate's admin socket.",
        discussion: "Commands: \(AdminCommand.usage). The reply is one JSON object on stdout.")

    @Option(help: "The admin socket of `tiergate serve --admin-socket`. Env: TIERGATE_SOCKET.")
    var socket: String

    @Option(help: ArgumentHelp("How long to wait for the reply (seconds, or with a unit). Env: TIERGATE_TIMEOUT.", valueName: "duration"))
    var timeout = TimeSpan.seconds(30)

    @Argument(help: "The command and its arguments, e.g. INVALIDATE org_acme.")
    var command: [String]

    func validate() throws {
        if command.isEmpty { throw ValidationError("give a command: \(AdminCommand.usage)") }
    }

    func run() throws {
        let line: String
        do {
            line = try Self.exchange(socket: socket, line: command.joined(separator: " "), timeout: timeout)
        } catch {
            FileHandle.standardError.write(Data("tiergate admin: \(error)\n".utf8))
            throw ExitCode(2)
        }
        print(line)
        let reply = try? JSONValue(parsing: line)
        guard case .bool(true)? = reply?.objectValue?["ok"] else {
            let message = reply?.objectValue?["error"]?.stringValue ?? "unexpected reply: \(line)"
            FileHandle.standardError.write(Data("tiergate admin: \(message)\n".utf8))
            throw ExitCode(1)
        }
    }

    /// Connects, sends `line`, reads one reply line.
    static func exchange(socket path: String, line: String, timeout: TimeSpan) throws -> String {
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw AdminClientError("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var tv = timeval(tv_sec: timeout.milliseconds / 1000, tv_usec: (timeout.milliseconds % 1000) * 1000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw AdminClientError("\(path): path too long") }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { throw AdminClientError("cannot connect to \(path): \(String(cString: strerror(errno)))") }
        let request = Array((line + "\n").utf8)
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else {
            throw AdminClientError("cannot send to \(path): \(String(cString: strerror(errno)))")
        }
        var reply: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while !reply.contains(UInt8(ascii: "\n")) {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { throw AdminClientError("no reply from \(path)") }
            reply += buffer[0..<n]
        }
        return String(decoding: reply.prefix { $0 != UInt8(ascii: "\n") }, as: UTF8.self)
    }
}

struct AdminClientError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The real `tiergate` binary, started on a free loopback port for one test and stopped
/// after it. Tests talk to it only through sockets and real clients, as users do.
final class TierGateProcess: @unchecked Sendable {
    let process: ChildProcess
    let port: Int
    private let logURL: URL

    /// Starts `tiergate serve` with `arguments` added, and waits until it accepts connections.
    init(arguments: [String], environment: [String: String] = [:]) throws {
        port = try FreePort.pick()
        logURL = FileManager.default.temporaryDirectory
            .appendingPathComponent("tiergate-test-\(UUID().uuidString).log")
        var env = ProcessInfo.processInfo.environment
        for key in env.keys where key.hasPrefix("TIERGATE_") && !key.hasPrefix("TIERGATE_TEST") {
            env[key] = nil  // the stack's port variables must not leak into flags
        }
        env.merge(environment) { $1 }
        // stdout and stderr both to the log: the second open appends after the first.
        process = try ChildProcess(
            [TierGateBinary.url.path, "serve", "--listen", "127.0.0.1:\(port)", "--log-level", "debug"] + arguments,
            environment: env, stdout: logURL.path + ".out", stderr: logURL.path)
        try waitUntilListening()
    }

    convenience init(upstream: Int = Stack.postgresPort, extra: [String] = []) throws {
        try self.init(arguments: ["--upstream", "127.0.0.1:\(upstream)"] + extra)
    }

    private func waitUntilListening() throws {
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline {
            if !process.isRunning {
                throw TestFailure("tiergate exited early (\(process.status ?? -1)):\n\(log)")
            }
            if let fd = try? RawConnection.connect(port: port) { close(fd); return }
            usleep(20_000)
        }
        throw TestFailure("tiergate did not listen on \(port) within 15 s:\n\(log)")
    }

    var pid: Int32 { process.pid }

    var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    /// Resident set size in kB, from /proc.
    var residentKB: Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return -1 }
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? -1
    }

    func signal(_ signo: Int32) { kill(pid, signo) }

    /// Waits for exit; returns the status, or nil on timeout.
    func waitForExit(timeout: TimeInterval) -> Int32? {
        process.wait(timeout: timeout)
    }

    deinit {
        if process.isRunning {
            kill(pid, SIGKILL)
            _ = process.wait(timeout: 10)
        }
        try? FileManager.default.removeItem(at: logURL)
        try? FileManager.default.removeItem(atPath: logURL.path + ".out")
    }
}

enum TierGateBinary {
    /// `TIERGATE_BIN`, else the `tiergate` SwiftPM built next to this test bundle.
    static var url: URL {
        if let path = ProcessInfo.processInfo.environment["TIERGATE_BIN"] {
            return URL(fileURLWithPath: path)
        }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        while dir.path != "/" {
            dir.deleteLastPathComponent()
            let candidate = dir.appendingPathComponent("tiergate")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return Stack.repoRoot.appendingPathComponent(".build/debug/tiergate")
    }
}

enum FreePort {
    /// Binds port 0 and reads the port the kernel picked; released before use, which is
    /// racy only against other processes picking ports at the same instant.
    static func pick() throws -> Int {
        let (fd, port) = try bindLoopback()
        close(fd)
        return port
    }

    /// A TCP socket bound to 127.0.0.1 on a port the kernel picks, and that port.
    static func bindLoopback() throws -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard ok else {
            close(fd)
            throw TestFailure("no free port")
        }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

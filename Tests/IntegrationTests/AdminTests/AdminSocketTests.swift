import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The admin socket itself: permissions, bad input, a 1 MB line, another process.
@Suite(.serialized)
struct AdminSocketTests {
    @Test func socket_isOwnerOnly_0600() throws {
        let (proxy, path) = try AdminProxy.start()
        defer { _ = proxy }
        var info = stat()
        #expect(lstat(path, &info) == 0)
        #expect(info.st_mode & S_IFMT == S_IFSOCK)
        #expect(info.st_mode & 0o777 == 0o600, "mode \(String(info.st_mode & 0o777, radix: 8))")
    }

    @Test func unknownCommands_garbage_andOneMegabyteLine_getErrors_andTheConnectionStaysUsable() throws {
        let (proxy, path) = try AdminProxy.start()
        let client = try AdminSocketClient(path: path)

        let unknown = try client.command("DROP DATABASE")
        #expect(unknown["ok"] as? Bool == false)
        #expect((unknown["error"] as? String)?.contains("unknown command") == true, "\(unknown)")

        let bad = try client.command("INVALIDATE")
        #expect(bad["ok"] as? Bool == false)

        client.send([0x00, 0x01, 0xff, 0xfe, 0x1b] + Array("\u{7}]]\n".utf8))
        let garbage = try client.readReply()
        #expect(garbage["ok"] as? Bool == false, "\(garbage)")

        let before = proxy.residentKB
        client.send([UInt8](repeating: UInt8(ascii: "A"), count: 1 << 20) + [UInt8(ascii: "\n")])
        let long = try client.readReply()
        #expect(long["ok"] as? Bool == false)
        #expect((long["error"] as? String)?.contains("line longer than 4096 bytes") == true, "\(long)")
        // Not buffered: the proxy's memory did not grow by the line's megabyte.
        #expect(proxy.residentKB - before < 1024, "RSS \(before) -> \(proxy.residentKB) kB")

        let pong = try client.command("PING")
        #expect(pong["ok"] as? Bool == true)
        #expect(pong["reply"] as? String == "PONG")
        #expect(proxy.process.isRunning)
    }

    @Test func liveSocketOfAnotherProcess_refusesStart_staleSocketIsReplaced() throws {
        let (first, path) = try AdminProxy.start()
        do {
            let second = try TierGateProcess(arguments: ["--upstream", "127.0.0.1:\(Stack.postgresPort)",
                                                         "--admin-socket", path])
            Issue.record("second TierGate started on a live admin socket: \(second.log)")
        } catch {
            #expect("\(error)".contains("another process is listening"), "\(error)")
        }
        #expect(try AdminSocketClient(path: path).command("PING")["ok"] as? Bool == true, "first still serves")

        first.signal(SIGKILL)
        _ = first.waitForExit(timeout: 10)
        #expect(FileManager.default.fileExists(atPath: path), "a killed TierGate leaves its socket behind")
        let (replacement, _) = try AdminProxy.start(socket: path)
        #expect(try AdminSocketClient(path: path).command("PING")["reply"] as? String == "PONG")
        _ = replacement
    }

    @Test func pathThatIsNotASocket_isRefusedAndLeftAlone() throws {
        let path = AdminProxy.socketPath()
        try "keep me".write(toFile: path, atomically: true, encoding: .utf8)
        defer { unlink(path) }
        #expect(throws: (any Error).self) {
            _ = try TierGateProcess(arguments: ["--upstream", "127.0.0.1:\(Stack.postgresPort)", "--admin-socket", path])
        }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "keep me")
    }

    @Test func adminSubcommand_printsReply_exitsNonZeroWithErrorOnStderr() throws {
        let (proxy, path) = try AdminProxy.start()
        defer { _ = proxy }
        let ping = try Command.run(TierGateBinary.url.path, ["admin", "--socket", path, "PING"])
        #expect(ping.status == 0)
        #expect(ping.stdout.contains(#""reply":"PONG""#), "\(ping.stdout)")

        let unknown = try Command.run(TierGateBinary.url.path, ["admin", "--socket", path, "FLUSH", "ALL"])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("unknown command \"FLUSH\""), "\(unknown.stderr)")

        let pgbouncer = try Command.run(TierGateBinary.url.path, ["admin", "--socket", path, "PGBOUNCER"])
        #expect(pgbouncer.status == 1)
        #expect(pgbouncer.stderr.contains("not configured"), "\(pgbouncer.stderr)")

        let nobody = try Command.run(TierGateBinary.url.path, ["admin", "--socket", "/tmp/no-such-tiergate.sock", "PING"])
        #expect(nobody.status != 0)
        #expect(nobody.stderr.contains("cannot connect"), "\(nobody.stderr)")
    }
}

import Dispatch
import Foundation
import PostgresWire
import Testing
import SocketIO
#if canImport(Glibc)
import Glibc
#endif

/// The control plane's connection layer over real loopback sockets.
struct ControlServerTests {
    /// A line protocol: "slow X" answers X from work after `pause`, "big" answers 32 MB (more
    /// than loopback's socket buffers take), "bye" answers and closes, anything else is echoed.
    struct Echo: ControlRequestHandler {
        var overflow = RequestFramer.Overflow.skip
        var pause: Duration = .milliseconds(50)

        func makeFramer() -> RequestFramer { RequestFramer(delimiter: [10], limit: 32, overflow: overflow) }

        func respond(to frame: RequestFramer.Frame) -> ControlResponse {
            guard case .request(let bytes) = frame else { return .reply(Array("too large\n".utf8)) }
            let line = String(decoding: bytes, as: UTF8.self)
            switch line {
            case _ where line.hasPrefix("slow "):
                let pause = pause
                return .work {
                    Thread.sleep(forTimeInterval: Double(pause.components.seconds) + Double(pause.components.attoseconds) / 1e18)
                    return Array((line.dropFirst(5) + "\n").utf8)
                }
            case "big": return .reply([UInt8](repeating: 65, count: 32 << 20))
            case "bye": return .reply(Array("bye\n".utf8), thenClose: true)
            default: return .reply(Array((line + "\n").utf8))
            }
        }
    }

    static func server(_ handler: Echo = Echo(), idle: Duration? = nil, write: Duration = .seconds(5)) throws -> ControlServer {
        let server = try ControlServer(listen: Endpoint(host: "127.0.0.1", port: 0), handler: handler,
                                       configuration: .init(idleTimeout: idle, writeTimeout: write))
        server.start()
        return server
    }

    static func stopped(_ server: ControlServer) -> Bool {
        let done = DispatchSemaphore(value: 0)
        server.stop { done.signal() }
        return done.wait(timeout: .now() + 5) == .success
    }

    static func eventually(_ timeout: TimeInterval = 2, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            usleep(10_000)
        }
        return condition()
    }

    @Test func replies_keepTheOrderOfRequests_whenSomeRunAsWork() throws {
        let server = try Self.server()
        defer { _ = Self.stopped(server) }
        let client = try LoopbackClient(port: server.listener.port)
        client.send("slow a\nb\nslow c\nd\n")
        #expect(try client.read(lines: 4) == "a\nb\nc\nd\n")
    }

    @Test func oversizedLine_withSkip_isAnswered_andTheConnectionGoesOn() throws {
        let server = try Self.server()
        defer { _ = Self.stopped(server) }
        let client = try LoopbackClient(port: server.listener.port)
        client.send(String(repeating: "x", count: 1000) + "\nok\n")
        #expect(try client.read(lines: 2) == "too large\nok\n")
    }

    @Test func oversizedRequest_withReject_isAnsweredAtOnce_thenClosed() throws {
        let server = try Self.server(Echo(overflow: .reject))
        defer { _ = Self.stopped(server) }
        let client = try LoopbackClient(port: server.listener.port)
        client.send(String(repeating: "x", count: 40))
        #expect(client.readToEnd() == "too large\n")
    }

    @Test func closingAnswer_isWrittenThenTheConnectionCloses() throws {
        let server = try Self.server()
        defer { _ = Self.stopped(server) }
        let client = try LoopbackClient(port: server.listener.port)
        client.send("bye\nnever answered\n")
        #expect(client.readToEnd() == "bye\n")
    }

    @Test func idleConnection_isClosedAfterTheIdleTimeout_partialRequestsDoNotExtendIt() throws {
        let server = try Self.server(idle: .milliseconds(300))
        defer { _ = Self.stopped(server) }
        let client = try LoopbackClient(port: server.listener.port)
        let started = Date()
        for _ in 0..<3 {
            client.send("x")
            usleep(150_000)
        }
        #expect(client.readToEnd() == "")
        let elapsed = Date().timeIntervalSince(started)
        #expect(elapsed >= 0.25 && elapsed < 3, "closed after \(elapsed) s")
    }

    @Test func peerThatResetsDuringWork_isClosedAtOnce() throws {
        let server = try Self.server(Echo(pause: .seconds(3)))
        defer { _ = Self.stopped(server) }
        let client = try LoopbackClient(port: server.listener.port)
        client.send("slow x\n")
        #expect(Self.eventually { server.openConnectionCount == 1 })
        usleep(100_000)
        client.reset()
        #expect(Self.eventually(1) { server.openConnectionCount == 0 }, "still open while its work runs")
    }

    @Test func peerThatDoesNotRead_isDroppedAfterTheWriteTimeout() throws {
        let server = try Self.server(write: .milliseconds(300))
        defer { _ = Self.stopped(server) }
        let client = try LoopbackClient(port: server.listener.port)
        client.send("big\n")
        #expect(Self.eventually { server.openConnectionCount == 1 })
        #expect(Self.eventually(5) { server.openConnectionCount == 0 })
    }

    @Test func stop_closesTheListeningSocket_andEveryOpenConnection() throws {
        let server = try Self.server()
        let client = try LoopbackClient(port: server.listener.port)
        client.send("ok\n")
        #expect(try client.read(lines: 1) == "ok\n")
        #expect(Self.stopped(server))
        #expect(client.readToEnd() == "")
        #expect(throws: (any Error).self) { _ = try LoopbackClient(port: server.listener.port) }
        #expect(server.openConnectionCount == 0)
    }

    @Test func unixSocketServer_answers_andStopRemovesItsPath() throws {
        let path = "/tmp/tg-control-\(UUID().uuidString.prefix(8)).sock"
        let server = try ControlServer(unixPath: path, handler: Echo(),
                                       configuration: .init(idleTimeout: nil, writeTimeout: .seconds(5)))
        server.start()
        let client = try LoopbackClient(unixPath: path)
        client.send("slow hello\n")
        #expect(try client.read(lines: 1) == "hello\n")
        #expect(Self.stopped(server))
        #expect(access(path, F_OK) != 0, "the socket's path is gone")
        #expect(client.readToEnd() == "")
    }
}

/// A blocking client with a receive timeout, as a scraper or `socat` would be.
final class LoopbackClient {
    let fd: Int32
    private var received: [UInt8] = []
    private var closed = false

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    init(port: UInt16) throws {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        fd = try Self.connect(family: AF_INET, address, length: MemoryLayout<sockaddr_in>.size)
    }

    init(unixPath path: String) throws {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        fd = try Self.connect(family: AF_UNIX, address, length: MemoryLayout<sockaddr_un>.size)
    }

    private static func connect<Address>(family: Int32, _ address: Address, length: Int) throws -> Int32 {
        let fd = socket(family, Int32(SOCK_STREAM.rawValue), 0)
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let rc = withUnsafePointer(to: address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(length)) }
        }
        guard rc == 0 else {
            let error = Failure(description: "connect: \(String(cString: strerror(errno)))")
            close(fd)
            throw error
        }
        return fd
    }

    deinit { if !closed { close(fd) } }

    func send(_ text: String) {
        var rest = Array(text.utf8)[...]
        while !rest.isEmpty {
            let n = rest.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            rest = rest.dropFirst(n)
        }
    }

    /// The next `lines` lines; throws on a timeout or the end of the stream.
    func read(lines: Int) throws -> String {
        while received.count(where: { $0 == 10 }) < lines {
            guard receiveOnce() > 0 else { throw Failure(description: "closed or timed out after \(received.count) bytes") }
        }
        defer { received = [] }
        return String(decoding: received, as: UTF8.self)
    }

    /// Everything until the server closes (or the timeout).
    func readToEnd() -> String {
        while receiveOnce() > 0 {}
        defer { received = [] }
        return String(decoding: received, as: UTF8.self)
    }

    private func receiveOnce() -> Int {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n > 0 { received += buffer[0..<n] }
        return n
    }

    /// Closes with SO_LINGER 0: the server sees a reset, not an end of stream.
    func reset() {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        close(fd)
        closed = true
    }
}

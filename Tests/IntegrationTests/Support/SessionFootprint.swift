import Foundation
import PostgresClient
import PostgresWire
#if canImport(Glibc)
import Glibc
#endif

/// What a proxy's sessions for one org hold, seen from outside the proxy: the org's slots
/// (the admin socket's SHOW ORG), the Postgres backends serving the org's database, and the
/// proxy's open descriptors (/proc). A session that ended for good holds none of them.
struct SessionFootprint: CustomStringConvertible {
    var openSessions: Int
    var backends: [String]
    var descriptors: Int

    var description: String {
        let shown = backends.prefix(3).joined(separator: "; ") + (backends.count > 3 ? "; ..." : "")
        return "openSessions \(openSessions), descriptors \(descriptors), backends \(backends.count)\(backends.isEmpty ? "" : " (\(shown))")"
    }

    /// No slot, no backend, and no more descriptors than `baseline` had.
    func isReleased(comparedTo baseline: SessionFootprint) -> Bool {
        openSessions == 0 && backends.isEmpty && descriptors <= baseline.descriptors
    }
}

/// A Postgres database of its own for one test's org, so the backends of that org's sessions
/// are told apart from everyone else's. Dropped (with any backend left on it) at the end.
final class OrgDatabase {
    let name = TestOrgs.unique("faults_db")
    private let admin: PostgresConnection
    /// The postmaster, parent of every backend.
    private let postmaster: Int32

    init() throws {
        admin = try PostgresConnection(conninfo: Stack.adminConninfo)
        _ = try admin.execute("create database \(name) owner app")
        guard let parent = ProcessTable.parent(of: admin.backendPID) else {
            throw TestFailure("no parent process for backend \(admin.backendPID)")
        }
        postmaster = parent
    }

    deinit { _ = try? admin.execute("drop database if exists \(name) with (force)") }

    /// The backends serving this database, one description each ("pid 12 active ClientWrite").
    ///
    /// pg_stat_activity lists a backend only once it has authenticated (before Postgres 17),
    /// so a backend still waiting for a password is found by its process title instead,
    /// "postgres: app <database> 127.0.0.1(port) authentication".
    func backends() throws -> [String] {
        let rows = try admin.query("select pid, coalesce(state, ''), coalesce(wait_event, '') from pg_stat_activity where datname = $1",
                                   parameters: [name]).rows
        var found = rows.map { "pid \($0[0] ?? "?") \($0[1] ?? "") \($0[2] ?? "")" }
        let listed = Set(rows.compactMap { $0[0].flatMap { Int32($0) } })
        for (pid, title) in ProcessTable.children(of: postmaster)
        where !listed.contains(pid) && title.contains(" \(name) ") {
            found.append("pid \(pid) \"\(title)\"")
        }
        return found
    }

    /// True when a backend is blocked sending rows its client (the proxy) does not take.
    func hasBackendWaitingInClientWrite() throws -> Bool {
        try backends().contains { $0.hasSuffix(" ClientWrite") }
    }
}

/// Reads Linux's /proc.
enum ProcessTable {
    static func openDescriptors(_ pid: Int32) -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1
    }

    /// True when `pid` holds a descriptor for the TCP connection from `peerPort` (IPv4):
    /// the proxy has accepted that client and not closed it. A connection still in the
    /// listen queue has no descriptor yet (inode 0 in /proc/net/tcp).
    static func holdsConnection(_ pid: Int32, peerPort: Int) -> Bool {
        guard let table = read("/proc/\(pid)/net/tcp") else { return false }
        let inodes = table.split(separator: "\n").dropFirst().compactMap { line -> String? in
            let fields = line.split(separator: " ")
            guard fields.count > 9, let remote = fields[2].split(separator: ":").last,
                  Int(remote, radix: 16) == peerPort, fields[9] != "0" else { return nil }
            return String(fields[9])
        }
        guard !inodes.isEmpty else { return false }
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
        return descriptors.contains { fd in
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)") else { return false }
            return inodes.contains { target == "socket:[\($0)]" }
        }
    }

    /// A whole /proc file (Foundation's String(contentsOfFile:) stops after a page of one).
    static func read(_ path: String) -> String? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 { return nil }
            if n == 0 { return String(decoding: bytes, as: UTF8.self) }
            bytes += chunk[0..<n]
        }
    }

    static func parent(of pid: Int32) -> Int32? {
        guard let status = read("/proc/\(pid)/status"),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("PPid:") })
        else { return nil }
        return Int32(line.dropFirst("PPid:".count).trimmingCharacters(in: .whitespaces))
    }

    /// The children of `parent` with their command lines (a Postgres backend's is its title).
    static func children(of parent: Int32) -> [(pid: Int32, title: String)] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry in
            guard let pid = Int32(entry), Self.parent(of: pid) == parent,
                  let commandLine = read("/proc/\(pid)/cmdline")
            else { return nil }
            let title = commandLine.replacingOccurrences(of: "\0", with: " ")
            return (pid, title.trimmingCharacters(in: .whitespaces))
        }
    }
}

/// A gating proxy with an admin socket and one org of `tier`, routed to an `OrgDatabase`:
/// what the fault tests need to see everything a session of that org leaves behind.
final class GatedOrgProxy {
    let org = TestOrgs.unique("org_faults")
    let database: OrgDatabase
    let proxy: TierGateProcess
    private let admin: AdminSocketClient

    init(tier: String, extra: [String] = []) throws {
        database = try OrgDatabase()
        // `postgres` (trusted on loopback) lets a raw client log in without SCRAM.
        try TestOrgs.put(org, tier: tier, database: database.name, burst: nil, roles: ["app", "postgres"])
        let (proxy, socket) = try AdminProxy.start(extra: extra)
        self.proxy = proxy
        admin = try AdminSocketClient(path: socket)
    }

    deinit { TestOrgs.remove(org) }

    var port: Int { proxy.port }

    /// The startup message of a client of this org logging in as `role`.
    func startup(role: String = "app") -> [UInt8] {
        StartupMessage(parameters: [("user", "\(role).\(org)"), ("database", database.name)]).encoded()
    }

    func footprint() throws -> SessionFootprint {
        let shown = try admin.command("SHOW ORG \(org)")
        // Authenticated sessions and logins still in progress: a leaked login holds a place too.
        let open = (shown["openSessions"] as? Int ?? -1) + (shown["loginsInProgress"] as? Int ?? 0)
        return SessionFootprint(openSessions: open,
                                backends: try database.backends(),
                                descriptors: ProcessTable.openDescriptors(proxy.pid))
    }

    /// `footprint()` for a failure message.
    var footprintText: String {
        do { return "\(try footprint())" } catch { return "(no footprint: \(error))" }
    }

    /// One whole session through the proxy and back, so the org's tier is cached and the
    /// proxy's store connections are open; then the footprint of an idle proxy, to compare with.
    func baseline() throws -> SessionFootprint {
        do {
            let session = try PostgresConnection(conninfo: conninfo(port: port, user: "app.\(org)", database: database.name))
            _ = try session.query("select 1")
        }
        var idle = try footprint()
        _ = try eventually(timeout: 5) {
            idle = try footprint()
            return idle.openSessions == 0 && idle.backends.isEmpty
        }
        guard idle.openSessions == 0, idle.backends.isEmpty else { throw TestFailure("the warm-up session did not end: \(idle)") }
        return idle
    }

    /// Polls until the footprint is back to `baseline` or `timeout` passes; returns the last one.
    func footprint(releasedWithin timeout: TimeInterval, comparedTo baseline: SessionFootprint) throws -> SessionFootprint {
        var current = try footprint()
        _ = try eventually(timeout: timeout) {
            current = try footprint()
            return current.isReleased(comparedTo: baseline)
        }
        return current
    }
}

import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A child process started with posix_spawn and reaped with waitpid on its own pid.
///
/// Foundation's `Process` on Linux reaps children from a shared SIGCHLD monitor, and in
/// this test process it was seen to miss an exit and hang `waitUntilExit` forever on a
/// zombie. Tests must not hang, so they spawn and wait for children themselves. Output goes
/// to files, never pipes, so a chatty child cannot block on a full pipe either.
final class ChildProcess: @unchecked Sendable {
    let pid: pid_t
    private let lock = NSLock()
    private var exitStatus: Int32?

    /// `arguments[0]` is looked up in PATH.
    init(_ arguments: [String], environment: [String: String], stdin: String = "/dev/null",
         stdout: String, stderr: String) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdin, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // A fresh process group, so a test can signal the child without its own group.
        // Default dispositions and an empty mask for every signal: the test runner blocks or
        // ignores some (SIGTERM among them), and a child would otherwise inherit that, as
        // would the services a test restarts through stack.sh, which then ignore the
        // SIGTERM that stops them and are killed after a 30 s wait.
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        posix_spawnattr_setpgroup(&attributes, 0)
        var everySignal = sigset_t()
        sigfillset(&everySignal)
        posix_spawnattr_setsigdefault(&attributes, &everySignal)
        var noSignal = sigset_t()
        sigemptyset(&noSignal)
        posix_spawnattr_setsigmask(&attributes, &noSignal)

        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var child: pid_t = 0
        let rc = posix_spawnp(&child, arguments[0], &actions, &attributes, argv, envp)
        guard rc == 0 else { throw TestFailure("spawn \(arguments[0]): \(String(cString: strerror(rc)))") }
        pid = child
    }

    /// The exit status (128 + signal for a signalled child), without waiting; nil while running.
    var status: Int32? {
        lock.withLock {
            if let exitStatus { return exitStatus }
            var raw: Int32 = 0
            guard waitpid(pid, &raw, WNOHANG) == pid else { return nil }
            exitStatus = Self.decode(raw)
            return exitStatus
        }
    }

    var isRunning: Bool { status == nil }

    /// Waits up to `timeout` seconds; nil if still running then.
    func wait(timeout: TimeInterval) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let status { return status }
            usleep(10_000)
        }
        return status
    }

    func signal(_ signo: Int32) { kill(pid, signo) }

    private static func decode(_ raw: Int32) -> Int32 {
        let signal = raw & 0x7f
        return signal == 0 ? (raw >> 8) & 0xff : 128 + signal
    }
}

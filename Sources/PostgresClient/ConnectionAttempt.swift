import CLibPQ
import Foundation

/// Drives libpq's non-blocking connect (`PQconnectStart` + `PQconnectPoll`) to completion.
///
/// `PQconnectdb` would be simpler, but it creates the `PGconn` itself, so there is no moment
/// to set `PQERRORS_VERBOSE` before the server's startup ErrorResponse is formatted; without
/// it, a refusal's SQLSTATE never reaches `PQerrorMessage` (see `ConnectionErrorText`).
enum ConnectionAttempt {
    /// Used when the conninfo has no `connect_timeout`; libpq's own default is to wait forever.
    static let defaultTimeout: Duration = .seconds(30)

    /// Returns a connected `PGconn*` whose notices go to `notices`, or throws after freeing it.
    static func establish(conninfo: String, notices: NoticeLog) throws(PostgresError) -> OpaquePointer {
        guard let connection = PQconnectStart(conninfo) else {
            throw PostgresError(kind: .connection, message: "libpq could not allocate a connection")
        }
        PQsetErrorVerbosity(connection, PQERRORS_VERBOSE)
        notices.install(on: connection)
        do throws(PostgresError) {
            try poll(connection)
            return connection
        } catch {
            PQfinish(connection)
            throw error
        }
    }

    private static func poll(_ connection: OpaquePointer) throws(PostgresError) {
        if PQstatus(connection) == CONNECTION_BAD {
            throw failure(connection)  // invalid conninfo, or the first connect() failed at once
        }
        let deadline = ContinuousClock.now + timeout(of: connection)
        // libpq's documented protocol: start as if PGRES_POLLING_WRITING had been returned.
        var state = PGRES_POLLING_WRITING
        while true {
            switch state {
            case PGRES_POLLING_OK:
                return
            case PGRES_POLLING_FAILED:
                throw failure(connection)
            case PGRES_POLLING_READING, PGRES_POLLING_WRITING:
                // The socket can change between polls when libpq moves to the next host.
                let ready = wait(socket: PQsocket(connection), writable: state == PGRES_POLLING_WRITING,
                                 until: deadline)
                if !ready {
                    throw PostgresError(kind: .connection, message: "connection attempt timed out")
                }
            default:
                break  // PGRES_POLLING_ACTIVE (unused since libpq 9): poll again at once
            }
            state = PQconnectPoll(connection)
        }
    }

    private static func failure(_ connection: OpaquePointer) -> PostgresError {
        ConnectionErrorText.parse(String(cString: PQerrorMessage(connection)))
    }

    /// `connect_timeout` as libpq interprets it: seconds, values below 2 raised to 2, 0 = none.
    private static func timeout(of connection: OpaquePointer) -> Duration {
        guard let options = PQconninfo(connection) else { return defaultTimeout }
        defer { PQconninfoFree(options) }
        var option = options
        while let keyword = option.pointee.keyword {
            if String(cString: keyword) == "connect_timeout", let value = option.pointee.val,
               let seconds = Int(String(cString: value)), seconds > 0 {
                return .seconds(max(seconds, 2))
            }
            option += 1
        }
        return defaultTimeout
    }

    /// Waits until `socket` is readable (or writable); false when `deadline` passed first.
    private static func wait(socket: Int32, writable: Bool, until deadline: ContinuousClock.Instant) -> Bool {
        var descriptor = pollfd(fd: socket, events: Int16(writable ? POLLOUT : POLLIN), revents: 0)
        while true {
            let remaining = ContinuousClock.now.duration(to: deadline)
            if remaining <= .zero { return false }
            let milliseconds = Int32(clamping: remaining.components.seconds * 1000
                + remaining.components.attoseconds / 1_000_000_000_000_000 + 1)
            let result = Foundation.poll(&descriptor, 1, milliseconds)
            if result > 0 { return true }   // ready, or an error libpq will report on the next poll
            if result < 0 && errno != EINTR { return true }
        }
    }
}

import CLibPQ
import Foundation

/// Collects the NoticeResponses libpq hands to its notice receiver, which would otherwise
/// print them to stderr.
///
/// A separate object from `PostgresConnection` so it can be installed right after
/// `PQconnectStart`, before the connection object exists: a proxy may warn during startup
/// (after authentication, before ReadyForQuery). It has its own lock because the receiver
/// runs inside whichever libpq call reads the notice, including the connect loop.
final class NoticeLog: @unchecked Sendable {
    /// Beyond this, the oldest notices are dropped: a runaway stream must not grow memory.
    static let capacity = 1_000

    private let lock = NSLock()
    private var notices: [PostgresNotice] = []   // guarded by `lock`

    /// Routes `connection`'s notices here. The caller keeps this object alive until after
    /// `PQfinish(connection)`; libpq holds only an unretained pointer.
    func install(on connection: OpaquePointer) {
        _ = PQsetNoticeReceiver(connection, { context, result in
            guard let context, let result else { return }
            Unmanaged<NoticeLog>.fromOpaque(context).takeUnretainedValue().append(result)
        }, Unmanaged.passUnretained(self).toOpaque())
    }

    func take() -> [PostgresNotice] {
        lock.lock()
        defer { lock.unlock() }
        defer { notices.removeAll() }
        return notices
    }

    private func append(_ result: OpaquePointer) {
        let fields = DiagnosticFields(result)
        let notice = PostgresNotice(severity: fields.severity, sqlState: fields.sqlState,
                                    message: fields.message ?? DiagnosticFields.errorMessage(result),
                                    detail: fields.detail, hint: fields.hint)
        lock.lock()
        defer { lock.unlock() }
        notices.append(notice)
        if notices.count > Self.capacity { notices.removeFirst(notices.count - Self.capacity) }
    }
}

/// Bytes accepted for a socket but not yet taken by the kernel.
///
/// Pure bookkeeping (the syscalls live in `SocketChannel`), as in swift-nio's split of
/// `PendingStreamWritesState` from its manager. The buffer is released once drained so that
/// an idle connection keeps no capacity around.
public struct PendingWrites {
    private var buffer: [UInt8] = []
    private var offset = 0

    public var isEmpty: Bool { offset == buffer.count }
    public var count: Int { buffer.count - offset }

    public mutating func append(_ bytes: ArraySlice<UInt8>) {
        if isEmpty {
            buffer = Array(bytes)
            offset = 0
        } else {
            buffer.append(contentsOf: bytes)
        }
    }

    public enum Drain: Equatable {
        case drained
        case partial
        case failed(Socket.IOResult)
    }

    /// Hands the unwritten bytes to `write` until it would block or all are written.
    public mutating func drain(_ write: (UnsafeRawBufferPointer) -> Socket.IOResult) -> Drain {
        while !isEmpty {
            let result = buffer.withUnsafeBytes { raw in
                write(UnsafeRawBufferPointer(rebasing: raw[offset...]))
            }
            switch result {
            case .bytes(let n):
                offset += n
            case .wouldBlock:
                compactIfWorthIt()
                return .partial
            case .closed, .failed:
                return .failed(result)
            }
        }
        buffer = []
        offset = 0
        return .drained
    }

    private mutating func compactIfWorthIt() {
        if offset > 64 * 1024 && offset * 2 > buffer.count {
            buffer.removeFirst(offset)
            offset = 0
        }
    }
}

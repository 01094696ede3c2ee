@testable import PostgresWire

/// What a `MessageFramer` handed to its sink, copied out of the input slices so it can be
/// compared after the input is gone.
enum FramerOutput: Equatable, CustomStringConvertible {
    case forward([UInt8])
    case message(id: UInt8, payload: [UInt8])

    var description: String {
        switch self {
        case .forward(let bytes): return "forward(\(bytes.count) bytes)"
        case .message(let id, let payload):
            return "message('\(MessageFramer.printable(id))', \(payload.count) bytes)"
        }
    }
}

/// Runs a framer over `chunks` in order, recording every event, and stops at the first
/// violation as a caller would.
struct FramerRecording {
    var framer: MessageFramer
    var outputs: [FramerOutput] = []
    var violation: ProtocolViolation?

    init(_ framer: MessageFramer) { self.framer = framer }

    init(inspected: [Character], maxInspectedLength: Int = 16 << 20) {
        self.init(MessageFramer(inspected: MessageTypeSet(inspected.map { $0.asciiValue! }),
                                maxInspectedLength: maxInspectedLength))
    }

    mutating func feed(_ chunk: ArraySlice<UInt8>) {
        precondition(violation == nil, "fed after a violation")
        var collected: [FramerOutput] = []
        violation = framer.feed(chunk) { event in
            switch event {
            case .forward(let bytes): collected.append(.forward(Array(bytes)))
            case .message(let id, let frame): collected.append(.message(id: id, payload: Array(MessageFramer.payload(of: frame))))
            }
        }
        outputs += collected
    }

    mutating func feed(_ chunk: [UInt8]) { feed(chunk[...]) }

    /// Feeds `stream` cut at `cuts` (ascending offsets), stopping at a violation.
    mutating func feed(_ stream: [UInt8], cutAt cuts: [Int]) {
        var start = 0
        for cut in cuts + [stream.count] where violation == nil {
            feed(stream[start..<cut])
            start = cut
        }
    }

    /// Forwarded bytes and re-encoded inspected messages, in the order they came out: for a
    /// well-framed stream this is the input, byte for byte.
    var reassembled: [UInt8] {
        outputs.flatMap { output -> [UInt8] in
            switch output {
            case .forward(let bytes): return bytes
            case .message(let id, let payload): return WireBytes.message(id, payload)
            }
        }
    }

    var forwardedBytes: [UInt8] {
        outputs.flatMap { output -> [UInt8] in
            if case .forward(let bytes) = output { return bytes }
            return []
        }
    }

    var messages: [FramerOutput] {
        outputs.filter { if case .message = $0 { return true } else { return false } }
    }
}

/// libFuzzer target: `MessageFramer`, the relay's splitter of regular messages, and the
/// payload decoders of the messages it hands out whole.
///
/// The input is a `ChunkedInput`: its setting byte picks the inspected message types (none,
/// all, the client side's Query and Parse, or some of E, S, Z) and the inspected-length
/// limit; its read sizes cut the stream into the reads the framer is fed.
///
/// Invariants, beyond "no crash, no hang, no leak":
/// - The framer agrees with `ReferenceFraming`, a reading of the stream written from the
///   protocol docs ("Message Formats") rather than from the framer: the same forwarded
///   bytes and whole inspected frames in the same order, the same violation (08P01 for a
///   length below 4, 54000 for an inspected message over the limit) after the same bytes,
///   and, without a violation, the same `isAtMessageBoundary`; both when the stream comes in one read and when it
///   comes in the fuzzer's reads. So the result does not depend on how the stream is cut,
///   and forwarded bytes and frames reassemble to the stream up to the first bad header.
/// - No forward event is empty, and every frame handed out is one whole message.
/// - A payload decoder that accepts a frame's payload (Query, Parse, ErrorResponse and
///   NoticeResponse, ParameterStatus, ReadyForQuery, BackendKeyData) re-encodes it to that
///   very frame: the proxy can forward what it decoded without changing a byte.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMessageFramer(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = ChunkedInput(fuzzerBytes(data, size))
    let inspected = inspectedTypes(input.setting)
    let limits = [0, 1, 4, 5, 64, 1024, 1 << 16, 16 << 20]
    let maxInspectedLength = limits[Int(input.setting >> 2) & 7]

    let expected = ReferenceFraming(input.stream, inspected: inspected, maxInspectedLength: maxInspectedLength)
    let whole = FramedStream([input.stream[...]], inspected: inspected, maxInspectedLength: maxInspectedLength)
    let cut = FramedStream(input.reads, inspected: inspected, maxInspectedLength: maxInspectedLength)
    for (run, name) in [(whole, "in one read"), (cut, "cut at \(input.cuts)")] {
        invariant(run.outputs == expected.outputs, "\(name): output differs from the reference reading")
        invariant(run.violation?.sqlState == expected.violationSQLState,
                  "\(name): violation \(String(describing: run.violation)), expected \(String(describing: expected.violationSQLState))")
        if let boundary = expected.atMessageBoundary {
            invariant(run.atMessageBoundary == boundary, "\(name): isAtMessageBoundary \(run.atMessageBoundary), expected \(boundary)")
        }
    }
    invariant(whole.violation == cut.violation, "the violation's text depends on the cuts")

    for case .message(let id, let frame) in whole.outputs {
        checkPayloadDecoders(id: id, frame: frame)
    }
    return 0
}

private func inspectedTypes(_ setting: UInt8) -> MessageTypeSet {
    switch setting & 3 {
    case 0: return MessageTypeSet()
    case 1: return .all
    case 2: return MessageTypeSet([FrontendMessageID.query.rawValue, FrontendMessageID.parse.rawValue])
    default:
        let candidates = [BackendMessageID.errorResponse, .parameterStatus, .readyForQuery]
        return MessageTypeSet(candidates.indices.filter { setting >> (5 + $0) & 1 == 1 }.map { candidates[$0].rawValue })
    }
}

/// What comes out of a framer, with adjacent forwards joined: how a stream is cut into
/// reads may split or join forward events, and nothing else.
enum FramerOutput: Equatable {
    case forward([UInt8])
    case message(id: UInt8, frame: [UInt8])
}

extension [FramerOutput] {
    mutating func appendJoiningForwards(_ output: FramerOutput) {
        guard case .forward(let more) = output, case .forward(var bytes)? = last else {
            append(output)
            return
        }
        // Removed first, so `bytes` is the only reference and grows in place: a stream of
        // many small forwarded messages must not cost time quadratic in its length.
        removeLast()
        bytes += more
        append(.forward(bytes))
    }
}

/// A framer fed `reads` in order, stopping at a violation as the relay does.
struct FramedStream {
    var outputs: [FramerOutput] = []
    var violation: ProtocolViolation?
    var atMessageBoundary: Bool

    init(_ reads: [ArraySlice<UInt8>], inspected: MessageTypeSet, maxInspectedLength: Int) {
        var framer = MessageFramer(inspected: inspected, maxInspectedLength: maxInspectedLength)
        var outputs: [FramerOutput] = []
        var violation: ProtocolViolation?
        for read in reads where violation == nil {
            violation = framer.feed(read) { event in
                switch event {
                case .forward(let bytes):
                    invariant(!bytes.isEmpty, "an empty forward event")
                    outputs.appendJoiningForwards(.forward(Array(bytes)))
                case .message(let id, let frame):
                    invariant(frame.count >= 5 && frame.first == id
                              && frame.dropFirst().prefix(4).reduce(0) { $0 << 8 | Int($1) } == frame.count - 1,
                              "a frame that is not one whole '\(MessageFramer.printable(id))' message")
                    outputs.append(.message(id: id, frame: Array(frame)))
                }
            }
        }
        self.outputs = outputs
        self.violation = violation
        atMessageBoundary = framer.isAtMessageBoundary
    }
}

/// The stream read message by message from its start, as the protocol defines it: a type
/// byte, a length that counts itself (at least 4), the payload. What a framer that has been
/// fed the whole stream must have handed out: every message up to the first bad header;
/// inspected messages only when whole; a forwarded message's bytes as far as they go once
/// its header is complete; nothing of an incomplete header.
struct ReferenceFraming {
    var outputs: [FramerOutput] = []
    var violationSQLState: SQLState?
    /// Unspecified (nil) after a violation: the stream is unusable then.
    var atMessageBoundary: Bool? = false

    init(_ stream: [UInt8], inspected: MessageTypeSet, maxInspectedLength: Int) {
        var offset = 0
        while true {
            guard offset < stream.count else {
                atMessageBoundary = true
                return
            }
            guard stream.count - offset >= 5 else { return }
            let id = stream[offset]
            let length = Int(Int32(bitPattern: stream[(offset + 1)..<(offset + 5)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }))
            if length < 4 || (inspected.contains(id) && length - 4 > maxInspectedLength) {
                violationSQLState = length < 4 ? .protocolViolation : .programLimitExceeded
                atMessageBoundary = nil
                return
            }
            let end = offset + 1 + length
            if inspected.contains(id) {
                guard end <= stream.count else { return }
                outputs.append(.message(id: id, frame: Array(stream[offset..<end])))
            } else {
                outputs.appendJoiningForwards(.forward(Array(stream[offset..<min(end, stream.count)])))
                guard end <= stream.count else { return }
            }
            offset = end
        }
    }
}

private func checkPayloadDecoders(id: UInt8, frame: [UInt8]) {
    let payload = MessageFramer.payload(of: frame[...])
    let reencoded: [UInt8]?
    switch id {
    case FrontendMessageID.query.rawValue: reencoded = Query.decode(payload: payload)?.encoded()
    case FrontendMessageID.parse.rawValue: reencoded = Parse.decode(payload: payload)?.encoded()
    case BackendMessageID.errorResponse.rawValue:
        reencoded = ErrorResponse.decode(payload: payload)?.encoded(as: .errorResponse)
    case BackendMessageID.noticeResponse.rawValue:
        reencoded = ErrorResponse.decode(payload: payload)?.encoded(as: .noticeResponse)
    case BackendMessageID.parameterStatus.rawValue: reencoded = ParameterStatus.decode(payload: payload)?.encoded()
    case BackendMessageID.readyForQuery.rawValue: reencoded = ReadyForQuery.decode(payload: payload)?.encoded()
    case BackendMessageID.backendKeyData.rawValue: reencoded = BackendKeyData.decode(payload: payload)?.encoded()
    default: reencoded = nil
    }
    if let reencoded {
        invariant(reencoded == frame, "'\(MessageFramer.printable(id))' decoded and re-encoded is not the frame it came from")
    }
}

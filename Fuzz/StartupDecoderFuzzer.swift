/// libFuzzer target: the startup phase's decoder (`StartupDecoder`, the packets it builds
/// and `ByteReader` under them).
///
/// The input is what a client sends before its session starts, decoded the way
/// `StartupPhase` does it: decode the bytes received so far, drop a decoded packet, decode
/// the rest (a client may pipeline its StartupMessage right behind an SSLRequest).
///
/// Invariants, beyond "no crash, no hang, no leak":
/// - Framing depends on the packet's own bytes alone. With L the length in the first four
///   bytes: fewer than four bytes wait for more; an L outside 8...10,000 is an 08P01
///   violation from those four bytes alone; otherwise fewer than L bytes wait for more, and
///   L bytes or more give the result of exactly the first L, whatever follows them.
/// - A decoded packet uses exactly L bytes and re-encodes to exactly those bytes: nothing a
///   client sends is dropped, merged or reordered before the proxy rewrites it.
/// - A violation is 08P01 (protocol_violation) or 0A000 (an unsupported protocol version).

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzStartupDecoder(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var received = fuzzerBytes(data, size)[...]
    // StartupPhase declines at most a few encryption requests before the StartupMessage.
    for _ in 0..<4 {
        let result = StartupDecoder.decode(received)
        checkFraming(received, result)
        guard case .packet(let packet, let consumed) = result else { break }
        let bytes = Array(received.prefix(consumed))
        invariant(encoded(packet) == bytes, "\(packet) does not re-encode to its \(consumed) bytes")
        if case .startup(let message) = packet {
            invariant(message.protocolVersion.major == 3, "accepted protocol \(message.protocolVersion)")
            invariant(message.parameters.allSatisfy { !$0.name.isEmpty }, "a parameter without a name")
        }
        received = received.dropFirst(consumed)
    }
    return 0
}

private func checkFraming(_ received: ArraySlice<UInt8>, _ result: StartupDecoder.Result) {
    guard received.count >= 4 else {
        invariant(result == .needMoreData, "\(received.count) bytes gave \(result)")
        return
    }
    let length = Int(Int32(bitPattern: received.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }))
    guard (8...StartupDecoder.maxPacketLength).contains(length) else {
        guard case .failure(let violation) = result, violation.sqlState == SQLState.protocolViolation else {
            invariant(false, "length \(length) gave \(result)")
            return
        }
        invariant(StartupDecoder.decode(received.prefix(4)) == result, "length \(length): not decided by its 4 bytes")
        return
    }
    guard received.count >= length else {
        invariant(result == .needMoreData, "\(received.count) of \(length) bytes gave \(result)")
        return
    }
    invariant(StartupDecoder.decode(received.prefix(length)) == result,
              "the bytes after a \(length)-byte packet changed its result")
    invariant(StartupDecoder.decode(received.prefix(length - 1)) == .needMoreData,
              "\(length - 1) of \(length) bytes did not wait for more")
    switch result {
    case .needMoreData:
        invariant(false, "a whole \(length)-byte packet waits for more")
    case .packet(_, let consumed):
        invariant(consumed == length, "consumed \(consumed) of a \(length)-byte packet")
    case .failure(let violation):
        invariant([SQLState.protocolViolation, SQLState.featureNotSupported].contains(violation.sqlState),
                  "violation with SQLSTATE \(violation.sqlState)")
    }
}

/// The packet as a client would send it, built with the module's own writers.
private func encoded(_ packet: StartupPacket) -> [UInt8] {
    switch packet {
    case .sslRequest: ByteWriter.startupPacket { $0.writeInt32(StartupPacket.sslRequestCode) }
    case .gssEncRequest: ByteWriter.startupPacket { $0.writeInt32(StartupPacket.gssEncRequestCode) }
    case .cancel(let request): request.encoded()
    case .startup(let message): message.encoded()
    }
}

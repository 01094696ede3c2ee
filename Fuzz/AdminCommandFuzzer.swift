import TierModel

/// libFuzzer target: the admin socket's protocol without the socket: `AdminLineBuffer` (over
/// SocketIO's `RequestFramer`), `AdminCommand.parse` and the replies `AdminConversation`
/// gives.
///
/// The input is a `ChunkedInput`: its setting byte picks the line limit (1, 2, 8, 64 or the
/// server's 4096 bytes); its read sizes cut the stream into the reads a client's bytes
/// arrive in.
///
/// Invariants, beyond "no crash, no hang, no leak":
/// - Every newline gets exactly one step (a command to run or a reply), in order, and the
///   steps do not depend on how the stream is cut into reads.
/// - The buffer never holds more than the line limit; a line handed out has no newline and
///   fits the limit.
/// - A parsed command is what the line says: written back in canonical form it parses to
///   the same command, and each org id in it is a word of the line as the client wrote it.
/// - A refusal is one line of JSON: `{"ok":false,"error":"..."}` and a single newline, so
///   nothing a client sends can forge a second reply line (checked for every line with a
///   byte that JSON escapes or that is not printable ASCII).

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAdminCommand(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = ChunkedInput(fuzzerBytes(data, size))
    let limit = [1, 2, 8, 64, 4096][Int(input.setting) % 5]

    var buffer = AdminLineBuffer(limit: limit)
    var lines: [AdminLineBuffer.Line] = []
    for read in input.reads {
        lines += buffer.feed(read)
        invariant(buffer.bufferedCount <= limit, "\(buffer.bufferedCount) bytes buffered, limit \(limit)")
    }
    let newlines = input.stream.count(where: { $0 == UInt8(ascii: "\n") })
    invariant(lines.count == newlines, "\(newlines) newlines gave \(lines.count) lines")
    // A step is a function of its line alone, so lines that do not depend on the cuts make
    // steps that do not either.
    var whole = AdminLineBuffer(limit: limit)
    invariant(whole.feed(input.stream) == lines, "the lines depend on the cuts \(input.cuts)")
    var conversation = AdminConversation(lineLimit: limit)
    let steps = conversation.receive(input.stream)
    invariant(steps.count == lines.count, "\(lines.count) lines gave \(steps.count) steps")

    for (line, step) in zip(lines, steps) {
        if case .text(let text) = line {
            invariant(!text.contains("\n") && text.utf8.count <= limit, "line of \(text.utf8.count) bytes, limit \(limit)")
        }
        switch step {
        case .run(let command):
            guard case .text(let text) = line else {
                invariant(false, "\(command) from a line that is not text")
                continue
            }
            checkCommand(command, parsedFrom: text)
        case .reply(let reply):
            // Only text that JSON must escape can break a reply line; serializing and parsing
            // every reply of plain text made this target five times slower.
            if case .text(let text) = line, text.utf8.allSatisfy({ (0x20...0x7E).contains($0) && $0 != 0x22 && $0 != 0x5C }) {
                invariant(!reply.ok, "a reply without a command that says ok")
            } else {
                checkRefusal(reply)
            }
        }
    }
    return 0
}

private func checkCommand(_ command: AdminCommand, parsedFrom text: String) {
    let canonical = canonicalLine(command)
    invariant((try? AdminCommand.parse(canonical)) == command, "\(command) written as \(canonical) parses differently")
    let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
    if let orgId = orgId(of: command) {
        invariant(words.contains(orgId.rawValue), "org id \(orgId) is not a word of \(text.debugDescription)")
    }
}

/// The command as the README writes it. Exhaustive, so a new command cannot be added
/// without the fuzz target learning it.
private func canonicalLine(_ command: AdminCommand) -> String {
    switch command {
    case .ping: "PING"
    case .invalidate(let org): "INVALIDATE \(org)"
    case .invalidateAll: "INVALIDATE *"
    case .showOrg(let org): "SHOW ORG \(org)"
    case .showOrgs: "SHOW ORGS"
    case .showStats: "SHOW STATS"
    case .reload: "RELOAD"
    case .pgbouncer: "PGBOUNCER"
    case .burstOff(let org): "BURST OFF \(org)"
    case .burstOn(let org): "BURST ON \(org)"
    case .burstStart(let org): "BURST START \(org)"
    }
}

private func orgId(of command: AdminCommand) -> OrgId? {
    switch command {
    case .invalidate(let org), .showOrg(let org), .burstOff(let org), .burstOn(let org), .burstStart(let org): org
    case .ping, .invalidateAll, .showOrgs, .showStats, .reload, .pgbouncer: nil
    }
}

private func checkRefusal(_ reply: AdminReply) {
    let line = reply.line
    invariant(!reply.ok, "a reply without a command that says ok")
    invariant(line.last == "\n" && line.utf8.count(where: { $0 == UInt8(ascii: "\n") }) == 1, "reply is not one line: \(line.debugDescription)")
    guard case .object(let object)? = try? JSONValue(parsing: String(line.dropLast())) else {
        invariant(false, "reply is not a JSON object: \(line.debugDescription)")
        return
    }
    invariant(object.keys == ["ok", "error"] && object["ok"] == .bool(false),
              "reply is not {\"ok\":false,\"error\":...}: \(line.debugDescription)")
    guard case .string(_)? = object["error"] else {
        invariant(false, "reply's error is not a string: \(line.debugDescription)")
        return
    }
}

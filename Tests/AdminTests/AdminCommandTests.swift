import Admin
import Testing
import TierModel

struct AdminCommandTests {
    @Test func everyCommand_parses_verbCaseInsensitive() throws {
        let acme = try OrgId("org_acme")
        #expect(try AdminCommand.parse("PING") == .ping)
        #expect(try AdminCommand.parse("ping") == .ping)
        #expect(try AdminCommand.parse("INVALIDATE org_acme") == .invalidate(acme))
        #expect(try AdminCommand.parse("invalidate   org_acme \r") == .invalidate(acme))
        #expect(try AdminCommand.parse("INVALIDATE *") == .invalidateAll)
        #expect(try AdminCommand.parse("SHOW ORG org_acme") == .showOrg(acme))
        #expect(try AdminCommand.parse("show orgs") == .showOrgs)
        #expect(try AdminCommand.parse("SHOW STATS") == .showStats)
        #expect(try AdminCommand.parse("RELOAD") == .reload)
        #expect(try AdminCommand.parse("PGBOUNCER") == .pgbouncer)
        #expect(try AdminCommand.parse("BURST OFF org_acme") == .burstOff(acme))
        #expect(try AdminCommand.parse("burst on org_acme") == .burstOn(acme))
        #expect(try AdminCommand.parse("BURST START org_acme") == .burstStart(acme))
    }

    @Test func unknownVerb_isRefusedWithTheCommandList() {
        #expect(throws: AdminCommandError.unknownCommand("DROP")) { try AdminCommand.parse("DROP org_acme") }
        let error = AdminCommandError.unknownCommand("DROP").description
        #expect(error.contains("INVALIDATE <orgId>"))
    }

    @Test func missingOrExtraArguments_areRefused() {
        for line in ["INVALIDATE", "INVALIDATE a b", "SHOW", "SHOW ORG", "SHOW ORGS x", "PING now", "SHOW TABLES", "RELOAD x",
                     "BURST", "BURST OFF", "BURST org_acme", "BURST PAUSE org_acme", "BURST OFF a b", "BURST OFF bad:org"] {
            #expect(throws: AdminCommandError.self, "\(line)") { try AdminCommand.parse(line) }
        }
    }

    @Test func invalidOrgId_isRefusedNotTruncated() {
        #expect(throws: AdminCommandError.self) { try AdminCommand.parse("INVALIDATE tier:org") }
        #expect(throws: AdminCommandError.self) { try AdminCommand.parse("SHOW ORG " + String(repeating: "a", count: 64)) }
    }

    @Test func emptyLine_isAnError() {
        #expect(throws: AdminCommandError.empty) { try AdminCommand.parse("   ") }
    }
}

struct AdminLineBufferTests {
    @Test func linesSplitAcrossFeeds_areJoined() {
        var buffer = AdminLineBuffer(limit: 64)
        #expect(buffer.feed(Array("PI".utf8)) == [])
        #expect(buffer.feed(Array("NG\r\nSHOW ORGS\nSH".utf8)) == [.text("PING"), .text("SHOW ORGS")])
        #expect(buffer.feed(Array("OW STATS\n".utf8)) == [.text("SHOW STATS")])
    }

    @Test func oneMegabyteLine_isDiscardedWithoutBuffering_andTheNextLineWorks() {
        var buffer = AdminLineBuffer(limit: 4096)
        var results: [AdminLineBuffer.Line] = []
        let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 64 * 1024)
        for _ in 0..<16 {
            results += buffer.feed(chunk)
            #expect(buffer.bufferedCount <= 4096)
        }
        results += buffer.feed(Array("\nPING\n".utf8))
        #expect(results == [.tooLong, .text("PING")])
    }

    @Test func lineOfExactlyTheLimit_isAccepted() {
        var buffer = AdminLineBuffer(limit: 8)
        #expect(buffer.feed(Array("12345678\n123456789\nok\n".utf8)) == [.text("12345678"), .tooLong, .text("ok")])
    }

    @Test func invalidUTF8_isReported() {
        var buffer = AdminLineBuffer()
        #expect(buffer.feed([0xff, 0xfe, UInt8(ascii: "\n")]) == [.notText])
    }
}

struct AdminConversationTests {
    @Test func everyLine_getsOneStep_inOrder_errorsInline() throws {
        var conversation = AdminConversation(lineLimit: 32)
        let steps = conversation.receive(Array("PING\nbogus\n\(String(repeating: "z", count: 100))\nSHOW ORGS\n".utf8))
        #expect(steps.count == 4)
        #expect(steps[0] == .run(.ping))
        guard case .reply(let unknown) = steps[1], case .reply(let long) = steps[2] else {
            Issue.record("\(steps)")
            return
        }
        #expect(!unknown.ok && unknown.line.contains("unknown command"))
        #expect(long.line == #"{"ok":false,"error":"line longer than 32 bytes: discarded"}"# + "\n")
        #expect(steps[3] == .run(.showOrgs))
    }

    @Test func replyLine_isOneJSONObject_okFirst() {
        let reply = AdminReply.success(["org": .string("org_acme"), "ok": .bool(false)])
        #expect(reply.line == #"{"ok":true,"org":"org_acme"}"# + "\n")
    }
}

struct AdminCommandTableTests {
    /// The `command` labels dashboards and alert rules see: they must not drift.
    @Test func metricLabels_areTheExportedOnes_eachOnce() {
        #expect(AdminCommand.metricLabels == ["ping", "invalidate", "invalidate_all", "show_org", "show_orgs", "show_stats",
                                              "reload", "pgbouncer", "burst_start", "burst_off", "burst_on", "other"])
    }

    /// Each row's usage, with an org id where it takes one, parses to a command whose row
    /// it is: the parser reads the table and nothing else.
    @Test func everyRow_parsesFromItsUsage_toACommandOfThatRow() throws {
        for row in AdminCommand.table {
            let line = row.usage.replacingOccurrences(of: "<orgId>", with: "org_acme")
            let command = try AdminCommand.parse(line)
            #expect(command.spec.words == row.words && command.spec.argument == row.argument, "\(line)")
            #expect(command.metricLabel == row.metricLabel, "\(line)")
            #expect(try AdminCommand.parse(line.lowercased()) == command, "verbs are case-insensitive")
        }
    }

    @Test func usage_listsEveryRow_inTableOrder() {
        #expect(AdminCommand.usage == "PING, INVALIDATE <orgId>, INVALIDATE *, SHOW ORG <orgId>, SHOW ORGS, SHOW STATS, RELOAD, PGBOUNCER, BURST START <orgId>, BURST OFF <orgId>, BURST ON <orgId>")
    }

    /// A verb with sub-commands names them when one is missing or unknown, and a
    /// sub-command its own usage.
    @Test func errorTexts_comeFromTheTable() {
        func error(_ line: String) -> String {
            do { _ = try AdminCommand.parse(line); return "parsed" } catch { return error.description }
        }
        #expect(error("SHOW") == "SHOW: expected SHOW ORG <orgId>, SHOW ORGS or SHOW STATS")
        #expect(error("show tables") == #"SHOW: unknown SHOW "TABLES"; expected ORG, ORGS or STATS"#)
        #expect(error("SHOW ORG") == "SHOW ORG: usage: SHOW ORG <orgId>")
        #expect(error("SHOW STATS now") == "SHOW STATS: takes no arguments")
        #expect(error("INVALIDATE") == "INVALIDATE: usage: INVALIDATE <orgId> or INVALIDATE *")
        #expect(error("PING now") == "PING: takes no arguments")
        #expect(error("BURST") == "BURST: expected BURST START <orgId>, BURST OFF <orgId> or BURST ON <orgId>")
        #expect(error("BURST PAUSE org_acme") == #"BURST: unknown BURST "PAUSE"; expected START, OFF or ON"#)
        #expect(error("BURST OFF") == "BURST OFF: usage: BURST OFF <orgId>")
        #expect(error("SHOW ORG *").hasPrefix("org id: \"*\""))
    }
}

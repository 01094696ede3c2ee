import Testing
@testable import TierModel

@Suite struct AnnouncementTests {
    private static let acme = try! OrgId("org_acme")
    private static let instance = "5E0C1A4B-0D5B-4C8E-9A3C-1F2E3D4C5B6A"

    static let every: [Announcement.Event] = [
        .tierChanged(acme), .allTiersChanged, .burstStarted(acme), .burstSwitchedOff(acme), .burstSwitchedOn(acme),
    ]

    @Test(arguments: every)
    func encodeThenParse_roundTrips(_ event: Announcement.Event) {
        let announcement = Announcement(from: Self.instance, event)
        #expect(Announcement(parsing: announcement.encoded) == announcement)
    }

    /// The text other instances (and older releases) read: it must not drift.
    @Test func encoded_isTheWireText() {
        let from = "host-1:6432"
        #expect(Announcement(from: from, .tierChanged(Self.acme)).encoded == "host-1:6432 org_acme")
        #expect(Announcement(from: from, .allTiersChanged).encoded == "host-1:6432 *")
        #expect(Announcement(from: from, .burstStarted(Self.acme)).encoded == "host-1:6432 burst org_acme")
        #expect(Announcement(from: from, .burstSwitchedOff(Self.acme)).encoded == "host-1:6432 burst-off org_acme")
        #expect(Announcement(from: from, .burstSwitchedOn(Self.acme)).encoded == "host-1:6432 burst-on org_acme")
    }

    @Test func parse_readsEachForm() {
        #expect(Announcement(parsing: "i org_acme") == Announcement(from: "i", .tierChanged(Self.acme)))
        #expect(Announcement(parsing: "i *") == Announcement(from: "i", .allTiersChanged))
        #expect(Announcement(parsing: "i burst org_acme") == Announcement(from: "i", .burstStarted(Self.acme)))
        #expect(Announcement(parsing: "i burst-off org_acme") == Announcement(from: "i", .burstSwitchedOff(Self.acme)))
        #expect(Announcement(parsing: "i burst-on org_acme") == Announcement(from: "i", .burstSwitchedOn(Self.acme)))
    }

    /// An org whose id is a burst word is still an org: two words are always a tier change.
    @Test func parse_anOrgNamedLikeAnEvent_isATierChange() throws {
        let burst = try OrgId("burst")
        #expect(Announcement(parsing: "i burst") == Announcement(from: "i", .tierChanged(burst)))
        #expect(Announcement(parsing: "i burst burst") == Announcement(from: "i", .burstStarted(burst)))
    }

    @Test(arguments: [
        "",                              // nothing
        "instance",                      // no event
        " org_acme",                     // no instance
        "i  org_acme",                   // two spaces
        "i org_acme ",                   // trailing space
        "i org acme",                    // an org id with a space is three words, and "org" no event
        "i bad:org",                     // not an org id
        "i **",                          // not all orgs
        "i burst-later org_acme",        // an unknown event
        "i burst *",                     // a burst of every org
        "i burst bad:org",               // a burst of no org
        "i burst org_acme extra",        // four words
        "i\torg_acme",                   // a tab is no separator
    ])
    func parse_rejectsMalformedText(_ text: String) {
        #expect(Announcement(parsing: text) == nil, "\(text.debugDescription)")
    }
}

extension Announcement.Event: CustomTestStringConvertible {
    public var testDescription: String { Announcement(from: "i", self).encoded }
}

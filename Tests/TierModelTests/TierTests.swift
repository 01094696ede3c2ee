import Testing
import TierModel

@Suite struct TierTests {
    @Test func tiers_areOrderedByPrice() {
        #expect(Tier.allCases == [.free, .starter, .pro, .enterprise])
        #expect(Tier.free < .starter && .starter < .pro && .pro < .enterprise)
        #expect(Tier.allCases.sorted(by: >).first == .enterprise)
    }

    @Test func rawValues_areTheUppercaseNamesMongoStores() {
        #expect(Tier.allCases.map(\.rawValue) == ["FREE", "STARTER", "PRO", "ENTERPRISE"])
        #expect(Tier.pro.description == "PRO")
    }

    @Test func next_isTheTierToSuggest_andNilAtTheTop() {
        #expect(Tier.free.next == .starter)
        #expect(Tier.starter.next == .pro)
        #expect(Tier.pro.next == .enterprise)
        #expect(Tier.enterprise.next == nil)
    }

    @Test func parsing_acceptsExactUppercaseNames() throws {
        for tier in Tier.allCases {
            #expect(try Tier(parsing: tier.rawValue) == tier)
        }
    }

    @Test func parsing_lowercaseName_isRefusedWithSpellingSuggestion() {
        #expect(throws: TierParseError(name: "pro")) { try Tier(parsing: "pro") }
        let text = TierParseError(name: "pro").description
        #expect(text.contains("unknown tier \"pro\""))
        #expect(text.contains("FREE, STARTER, PRO, ENTERPRISE"))
        #expect(text.contains("did you mean PRO?"))
    }

    @Test func parsing_unrelatedName_listsTheTiersWithoutAGuess() {
        let text = TierParseError(name: "GOLD").description
        #expect(text.contains("expected one of FREE, STARTER, PRO, ENTERPRISE"))
        #expect(!text.contains("did you mean"))
    }
}

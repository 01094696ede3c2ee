import Testing
@testable import PostgresWire

/// The 256-bit mask is four 64-bit words: 0, 63, 64, 127, 128 and 255 sit at the edges of
/// each word, where an off-by-one in the word index or the shift would show.
@Suite struct MessageTypeSetTests {
    static let wordEdges: [UInt8] = [0, 63, 64, 127, 128, 255]

    @Test(arguments: wordEdges)
    func setWithOneID_containsThatIDAndNoOther(id: UInt8) {
        let set = MessageTypeSet([id])
        for other in UInt8.min...UInt8.max {
            #expect(set.contains(other) == (other == id), "contains(\(other)) in set of \(id)")
        }
    }

    @Test func emptySet_containsNothing() {
        let set = MessageTypeSet()
        #expect((UInt8.min...UInt8.max).allSatisfy { !set.contains($0) })
    }

    @Test func all_containsEveryByte() {
        #expect((UInt8.min...UInt8.max).allSatisfy { MessageTypeSet.all.contains($0) })
        for id in Self.wordEdges { #expect(MessageTypeSet.all.contains(id)) }
    }

    @Test func insertingEveryByte_equalsAll() {
        var set = MessageTypeSet()
        for id in UInt8.min...UInt8.max { set.insert(id) }
        #expect(set == .all)
        #expect(MessageTypeSet(Array(UInt8.min...UInt8.max)) == .all)
    }

    @Test func insert_isIdempotentAndEqualityIgnoresOrder() {
        var set = MessageTypeSet([0x5A, 0x45])
        set.insert(0x5A)
        #expect(set == MessageTypeSet([0x45, 0x5A]))
        #expect(set != MessageTypeSet([0x45]))
        #expect(set != .all)
    }

    @Test func setOfWordEdges_containsExactlyThem() {
        let set = MessageTypeSet(Self.wordEdges)
        for id in UInt8.min...UInt8.max {
            #expect(set.contains(id) == Self.wordEdges.contains(id))
        }
    }
}

import PostgresWire
import Proxy
import Testing

/// CancelRequests per client address: a token bucket each, with bounded memory.
struct CancelRateLimitTests {
    static let t0 = ContinuousClock.now

    @Test func anAddressGetsItsBurst_thenItsRate() {
        var limit = CancelRateLimit(rule: .init(perSecond: 2, burst: 3))
        let burst = (0..<4).map { _ in limit.allow("10.0.0.1", now: Self.t0) }
        #expect(burst == [true, true, true, false])
        // Half a second refills one request.
        let refilled = [limit.allow("10.0.0.1", now: Self.t0 + .milliseconds(500)), limit.allow("10.0.0.1", now: Self.t0 + .milliseconds(500))]
        #expect(refilled == [true, false])
        // Never more than the burst, however long the address was quiet.
        let later = Self.t0 + .seconds(60)
        let quiet = (0..<4).map { _ in limit.allow("10.0.0.1", now: later) }
        #expect(quiet == [true, true, true, false])
    }

    @Test func addressesHaveBucketsOfTheirOwn() {
        var limit = CancelRateLimit(rule: .init(perSecond: 1, burst: 1))
        let answers = [limit.allow("10.0.0.1", now: Self.t0), limit.allow("10.0.0.1", now: Self.t0), limit.allow("10.0.0.2", now: Self.t0)]
        #expect(answers == [true, false, true])
    }

    @Test func memoryStaysBounded_whoeverSends() {
        var limit = CancelRateLimit(rule: .init(perSecond: 10, burst: 10), maxAddresses: 100)
        for index in 0..<10_000 {
            _ = limit.allow("10.0.\(index / 256).\(index % 256)", now: Self.t0 + .milliseconds(index))
        }
        #expect(limit.rememberedAddresses <= 101)
        let fresh = limit.allow("192.168.0.1", now: Self.t0 + .seconds(11))
        #expect(fresh)
        // An address over its rate is still held to it while remembered.
        var busy = CancelRateLimit(rule: .init(perSecond: 1, burst: 1), maxAddresses: 100)
        let answers = [busy.allow("10.9.9.9", now: Self.t0), busy.allow("10.9.9.9", now: Self.t0 + .milliseconds(10))]
        #expect(answers == [true, false])
    }

    @Test func theHostOfAPeer_dropsItsPort() {
        #expect(Endpoint.host(ofPeer: "127.0.0.1:5432") == "127.0.0.1")
        #expect(Endpoint.host(ofPeer: "[::1]:5432") == "::1")
        #expect(Endpoint.host(ofPeer: "/run/sock") == "/run/sock")
    }
}

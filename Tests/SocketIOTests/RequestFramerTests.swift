import Testing
import SocketIO

struct RequestFramerTests {
    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }
    static func request(_ text: String) -> RequestFramer.Frame { .request(bytes(text)) }

    static func lines(limit: Int = 8) -> RequestFramer {
        RequestFramer(delimiter: bytes("\n"), limit: limit, overflow: .skip)
    }

    @Test func requestsSplitAcrossReads_comeOutWhole_withoutTheirDelimiter() {
        var framer = Self.lines()
        #expect(framer.feed(Self.bytes("ab")) == [])
        #expect(framer.feed(Self.bytes("c\nde\nf")) == [Self.request("abc"), Self.request("de")])
        #expect(framer.bufferedCount == 1)
        #expect(framer.feed(Self.bytes("\n")) == [Self.request("f")])
    }

    @Test func limitCountsTheDelimiter_aRequestOfExactlyTheLimitIsAccepted() {
        var framer = Self.lines(limit: 4)
        #expect(framer.feed(Self.bytes("abc\nabcd\nok\n")) == [Self.request("abc"), .tooLarge, Self.request("ok")])
    }

    @Test func skip_dropsTheOversizedRequestUnbuffered_reportsItInOrder_andGoesOn() {
        var framer = Self.lines(limit: 4096)
        var frames: [RequestFramer.Frame] = []
        let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 64 * 1024)
        for _ in 0..<16 {
            frames += framer.feed(chunk)
            #expect(framer.bufferedCount <= 4096)
        }
        frames += framer.feed(Self.bytes("\nPING\n"))
        #expect(frames == [.tooLarge, Self.request("PING")])
    }

    @Test func reject_reportsAtOnce_withoutWaitingForTheEnd_andFramesNothingMore() {
        var framer = RequestFramer(delimiter: Self.bytes("\r\n\r\n"), limit: 16, overflow: .reject)
        #expect(framer.feed(Self.bytes("A\r\n\r\n")) == [Self.request("A")])
        #expect(framer.feed([UInt8](repeating: UInt8(ascii: "y"), count: 15)) == [])
        #expect(framer.feed(Self.bytes("y")) == [.tooLarge])
        #expect(framer.feed(Self.bytes("\r\n\r\nB\r\n\r\n")) == [])
        #expect(framer.bufferedCount == 0)
    }

    @Test func multiByteDelimiter_isFoundAfterAFalseStart() {
        var framer = RequestFramer(delimiter: Self.bytes("\r\n\r\n"), limit: 64, overflow: .reject)
        #expect(framer.feed(Self.bytes("a\r\n\r\r\n\r\nb")) == [Self.request("a\r\n\r")])
        #expect(framer.bufferedCount == 1)
    }

    @Test func byteAtATime_framesAsOneFeed() {
        let input = Self.bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /metrics HTTP/1.1\r\n\r\n")
        var whole = RequestFramer(delimiter: Self.bytes("\r\n\r\n"), limit: 64, overflow: .reject)
        var split = whole
        let expected = whole.feed(input)
        #expect(expected == [Self.request("GET / HTTP/1.1\r\nHost: x"), Self.request("GET /metrics HTTP/1.1")])
        #expect(input.flatMap { split.feed([$0]) } == expected)
    }
}

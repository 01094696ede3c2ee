import Foundation
import Synchronization
import Testing
@testable import TierStore

extension StoreTests {
    /// `QuietWatch`: Redis silent on a due reply is noticed by the kernel's clock, so a caller
    /// that was not running when the reply came never takes itself for a silent Redis (what
    /// let a starved instance admit past the shared ceiling, issue 16).
    struct RedisQuietWatchTests {
        private func connect() throws -> RedisConnection {
            try RedisConnection(url: Stack.redisURL, commandTimeout: .seconds(2))
        }

        private final class Notices: Sendable {
            let count = Mutex(0)
            var watch: QuietWatch { QuietWatch(after: .milliseconds(50)) { [self] in count.withLock { $0 += 1 } } }
            var value: Int { count.withLock { $0 } }
        }

        @Test func redisSilentPastTheWatch_isNoticedUntilItAnswers_andTheReplyStillComes() throws {
            let redis = try connect()
            let notices = Notices()
            // BLPOP on an empty list: Redis says nothing for 300 ms, then nil. Noticed at
            // 50 ms, then about every 10 ms.
            let reply = try redis.command(["BLPOP", "tiergate-test:quiet:\(UUID().uuidString)", "0.3"], quiet: notices.watch)
            #expect(reply == .null)
            #expect((2...100).contains(notices.value), "\(notices.value)")
            #expect(!redis.isBroken)
            let before = notices.value
            #expect(try redis.command(["PING"], quiet: notices.watch) == .status("PONG"))
            #expect(notices.value == before)
        }

        @Test func replyThatCameWhileTheCallerWasNotReading_isNoSilence() throws {
            let redis = try connect()
            let notices = Notices()
            redis.commandLock.lock()
            defer { redis.commandLock.unlock() }
            try redis.append(["PING"])
            try redis.flushOutput()
            // The caller is off the CPU for four times the watch; Redis answered at once.
            Thread.sleep(forTimeInterval: 0.2)
            #expect(try redis.readReply(watching: notices.watch) == .status("PONG"))
            #expect(notices.value == 0)
        }

        @Test func pipelineAnsweredPromptly_isNeverQuiet() throws {
            let redis = try connect()
            let notices = Notices()
            let replies = try redis.pipeline((0..<200).map { _ in ["PING"] }, quiet: notices.watch)
            #expect(replies.count == 200)
            #expect(replies.allSatisfy { $0 == .status("PONG") })
            #expect(notices.value == 0)
        }

        @Test func silentPastTheCommandTimeout_stillFailsAsATimeout() throws {
            let redis = try RedisConnection(url: Stack.redisURL, commandTimeout: .milliseconds(300))
            let notices = Notices()
            #expect {
                try redis.command(["BLPOP", "tiergate-test:quiet:\(UUID().uuidString)", "2"], quiet: notices.watch)
            } throws: { error in
                guard case .timeout = error as? RedisError else { return false }
                return true
            }
            #expect(notices.value >= 1)
            #expect(redis.isBroken)
        }
    }
}

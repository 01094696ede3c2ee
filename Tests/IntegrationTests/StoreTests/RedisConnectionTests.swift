import Foundation
import Testing
import TierStore

extension StoreTests {
    /// `RedisConnection` against the stack's Redis (scripts/stack.sh up redis).
    struct RedisConnectionTests {
        /// A key no other test (or concurrent test run) uses.
        private func uniqueKey(_ name: String = #function) -> String {
            "tiergate-test:\(name):\(UUID().uuidString)"
        }

        private func connect(commandTimeout: Duration = .milliseconds(500)) throws -> RedisConnection {
            try RedisConnection(url: Stack.redisURL, commandTimeout: commandTimeout)
        }

        @Test func setexGetTTLDel_roundTrip() throws {
            let redis = try connect()
            let key = uniqueKey()
            try redis.setex(key, seconds: 300, value: #"{"tier":"PRO"}"#)
            #expect(try redis.get(key) == #"{"tier":"PRO"}"#)
            #expect((299...300).contains(try redis.ttl(key)))
            #expect(try redis.del(key) == 1)
            #expect(try redis.get(key) == nil)
            #expect(try redis.ttl(key) == -2)
            #expect(try redis.del(key) == 0)
        }

        @Test func incrAndExpire_countFromZero() throws {
            let redis = try connect()
            let key = uniqueKey()
            #expect(try redis.incr(key) == 1)
            #expect(try redis.incr(key) == 2)
            #expect(try redis.ttl(key) == -1)
            #expect(try redis.expire(key, seconds: 60))
            #expect((59...60).contains(try redis.ttl(key)))
            #expect(try redis.expire(uniqueKey("absent"), seconds: 60) == false)
            try redis.del(key)
        }

        @Test func values_areBinarySafeUTF8() throws {
            let redis = try connect()
            let key = uniqueKey()
            let value = "line one\nline\0two ✓ \u{1F680}"
            try redis.setex(key, seconds: 30, value: value)
            #expect(try redis.get(key) == value)
            try redis.del(key)
        }

        @Test func errorReply_isTypedAndLeavesConnectionUsable() throws {
            let redis = try connect()
            let key = uniqueKey()
            try redis.setex(key, seconds: 30, value: "not a number")
            #expect {
                try redis.incr(key)
            } throws: { error in
                guard case let .server(message) = error as? RedisError else { return false }
                return message.hasPrefix("ERR value is not an integer")
            }
            #expect(redis.isBroken == false)
            try redis.ping()
            try redis.del(key)
        }

        @Test func publishSubscribe_deliversMessage_thenConnectionServesCommandsAgain() throws {
            let channel = uniqueKey()
            let subscriber = try connect()
            let received = LockedBox<[RedisMessage]>([])
            let done = DispatchSemaphore(value: 0)
            Thread.detachNewThread {
                do {
                    try subscriber.subscribe(channel) { message in
                        received.mutate { $0.append(message) }
                        return message.payload == "last" ? .stop : .keepListening
                    }
                } catch {
                    Issue.record("subscribe failed: \(error)")
                }
                done.signal()
            }

            let publisher = try connect()
            // PUBLISH reports how many subscribers got the message: wait until the subscription is live.
            let deadline = ContinuousClock.now + .seconds(5)
            while try publisher.publish(channel, message: "hello") == 0 {
                try #require(ContinuousClock.now < deadline, "subscriber never subscribed")
                Thread.sleep(forTimeInterval: 0.02)
            }
            #expect(try publisher.publish(channel, message: "last") == 1)

            #expect(done.wait(timeout: .now() + 5) == .success)
            #expect(received.value.map(\.payload) == ["hello", "last"])
            #expect(received.value.allSatisfy { $0.channel == channel })
            // After .stop the connection left subscribed mode.
            #expect(subscriber.isBroken == false)
            try subscriber.ping()
            #expect(try publisher.publish(channel, message: "unheard") == 0)
        }

        @Test func interrupt_endsBlockedSubscription_andBreaksConnection() throws {
            let subscriber = try connect(commandTimeout: .milliseconds(100))
            let done = DispatchSemaphore(value: 0)
            let outcome = LockedBox<String>("running")
            Thread.detachNewThread {
                do {
                    try subscriber.subscribe(uniqueKey("interrupt")) { _ in .keepListening }
                    outcome.mutate { $0 = "returned" }
                } catch {
                    outcome.mutate { $0 = "threw \(error)" }
                }
                done.signal()
            }
            Thread.sleep(forTimeInterval: 0.3)
            // Longer than the command timeout: waiting for messages must not time out.
            #expect(outcome.value == "running")
            subscriber.interrupt()
            #expect(done.wait(timeout: .now() + 5) == .success)
            #expect(outcome.value == "returned")
            #expect(subscriber.isBroken)
            #expect(throws: RedisError.connectionBroken) { try subscriber.ping() }
        }

        @Test func slowCommand_timesOut_andBreaksConnection() throws {
            let redis = try connect(commandTimeout: .milliseconds(200))
            let started = ContinuousClock.now
            // BLPOP on an empty list blocks server-side for 2 s, well past the command timeout.
            #expect {
                try redis.command(["BLPOP", uniqueKey(), "2"])
            } throws: { error in
                guard case .timeout = error as? RedisError else { return false }
                return true
            }
            #expect(ContinuousClock.now - started < .seconds(1))
            #expect(redis.isBroken)
            #expect(throws: RedisError.connectionBroken) { try redis.get("anything") }
        }

        @Test func closedPort_failsFastWithConnectFailed() throws {
            let port = try FreePort.pick()
            let started = ContinuousClock.now
            #expect {
                try RedisConnection(url: "redis://127.0.0.1:\(port)", connectTimeout: .seconds(2))
            } throws: { error in
                guard case let .connectFailed(host, failedPort, message) = error as? RedisError else { return false }
                return host == "127.0.0.1" && failedPort == port && message.contains("refused")
            }
            #expect(ContinuousClock.now - started < .seconds(1))
        }

        @Test func databaseInURL_isSelected() throws {
            let key = uniqueKey()
            let db0 = try connect()
            let db3 = try RedisConnection(url: Stack.redisURL + "/3")
            try db3.setex(key, seconds: 30, value: "in db 3")
            #expect(try db3.get(key) == "in db 3")
            #expect(try db0.get(key) == nil)
            try db3.del(key)
        }
    }

    /// A value shared between a test and the thread it starts.
    final class LockedBox<Value: Sendable>: @unchecked Sendable {
        private let lock = NSLock()
        private var stored: Value

        init(_ value: Value) { stored = value }

        var value: Value { lock.withLock { stored } }

        func mutate(_ body: (inout Value) -> Void) { lock.withLock { body(&stored) } }
    }
}

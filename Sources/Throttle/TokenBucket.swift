/// A token bucket: `burst` takes at once, then `rate` per second. The one rate limiter of
/// the proxy: an org's connects (every new connection forks a Postgres backend) and an
/// address's CancelRequests (each makes the proxy open a connection to Postgres).
///
/// Rate and burst are passed at each `take`, so a changed rule (a tier change) applies to
/// the next take (a smaller burst caps the tokens at once). Time only moves forward here:
/// an instant earlier than the last one refills nothing.
public struct TokenBucket: Sendable, Equatable {
    /// Tokens left after the last `take` (fractions accumulate between takes).
    public private(set) var tokens: Double
    public private(set) var updatedAt: ContinuousClock.Instant

    /// A full bucket.
    public init(burst: Int, at now: ContinuousClock.Instant) {
        tokens = Double(burst)
        updatedAt = now
    }

    /// Takes one token if there is one. Refused: how long until the next token.
    public mutating func take(rate: Double, burst: Int, at now: ContinuousClock.Instant) -> TokenBucketDecision {
        refill(rate: rate, burst: burst, at: now)
        // A token refilled by floating-point steps may land a hair below 1.
        if tokens + Self.epsilon >= 1 {
            tokens = Swift.max(0, tokens - 1)
            return .allowed
        }
        return .refused(retryAfter: .seconds((1 - tokens) / rate))
    }

    /// Whether the bucket is full at `now`: it then says nothing a new bucket would not, so
    /// an owner of many buckets may drop it.
    public func isFull(rate: Double, burst: Int, at now: ContinuousClock.Instant) -> Bool {
        var copy = self
        copy.refill(rate: rate, burst: burst, at: now)
        return copy.tokens + Self.epsilon >= Double(burst)
    }

    private mutating func refill(rate: Double, burst: Int, at now: ContinuousClock.Instant) {
        if now > updatedAt {
            let (seconds, attoseconds) = (now - updatedAt).components
            let elapsed = Double(seconds) + Double(attoseconds) / 1e18
            tokens += elapsed * rate
            updatedAt = now
        }
        tokens = Swift.min(tokens, Double(burst))
    }

    static let epsilon = 1e-9
}

/// A token bucket's answer.
public enum TokenBucketDecision: Sendable, Equatable {
    case allowed
    /// Over the rate; the next take may succeed after `retryAfter`.
    case refused(retryAfter: Duration)
}

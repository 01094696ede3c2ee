import Synchronization

/// A completion that runs once, whoever answers first: Redis' reply, or this instance's own
/// decision when Redis is quiet or unreachable. The answer is computed only by the winner,
/// so a losing local decision records nothing (takes no token, grants no share).
final class AnswerOnce<Answer: Sendable>: Sendable {
    private let done = Mutex(false)
    private let completion: @Sendable (Answer) -> Void

    init(_ completion: @escaping @Sendable (Answer) -> Void) { self.completion = completion }

    var isAnswered: Bool { done.withLock { $0 } }

    func answer(_ make: () -> Answer) {
        let first = done.withLock { done -> Bool in
            defer { done = true }
            return !done
        }
        if first { completion(make()) }
    }
}

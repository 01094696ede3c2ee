import Dispatch
import Foundation
import Logging

/// SIGTERM and SIGINT start a graceful shutdown; a second signal exits at once, for an
/// operator who does not want to wait for the drain.
enum ShutdownSignals {
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []

    static func install(logger: Logger, onFirstSignal: @escaping @Sendable () -> Void) {
        let queue = DispatchQueue(label: "tiergate.signals")
        let received = SignalCount()
        for signo in [SIGTERM, SIGINT] {
            signal(signo, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signo, queue: queue)
            source.setEventHandler {
                if received.increment() == 1 {
                    logger.info("signal received, draining", metadata: ["signal": "\(signo)"])
                    onFirstSignal()
                } else {
                    logger.warning("second signal, exiting without drain")
                    exit(1)
                }
            }
            source.resume()
            sources.append(source)
        }
    }
}

private final class SignalCount: @unchecked Sendable {
    private var count = 0
    /// Only called on the signal queue.
    func increment() -> Int {
        count += 1
        return count
    }
}

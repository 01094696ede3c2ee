import ArgumentParser
import Dispatch
import Foundation
import Logging
import Proxy

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the proxy.")

    @Option(help: "Address to accept Postgres clients on (HOST:PORT). Env: TIERGATE_LISTEN.")
    var listen: String = "127.0.0.1:6432"

    @Option(help: "Postgres server to relay to (HOST:PORT). Env: TIERGATE_UPSTREAM.")
    var upstream: String = "127.0.0.1:5432"

    @Option(help: "Seconds a new client has to send its startup packet. Env: TIERGATE_LOGIN_TIMEOUT.")
    var loginTimeout: Double = 15

    @Option(help: "Seconds open sessions may take to finish after SIGTERM/SIGINT. Env: TIERGATE_DRAIN_TIMEOUT.")
    var drainTimeout: Double = 30

    @Option(help: "trace, debug, info, notice, warning, error or critical. Env: TIERGATE_LOG_LEVEL.")
    var logLevel: String = "info"

    @Option(help: "Number of I/O event loops (serial queues). Env: TIERGATE_EVENT_LOOPS.")
    var eventLoops: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Largest message the proxy assembles to inspect, in bytes. Env: TIERGATE_MAX_MESSAGE_SIZE.")
    var maxMessageSize: Int = 16 << 20

    func validate() throws {
        guard Endpoint(listen) != nil else { throw ValidationError("--listen: expected HOST:PORT, got '\(listen)'") }
        guard Endpoint(upstream) != nil else { throw ValidationError("--upstream: expected HOST:PORT, got '\(upstream)'") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level: unknown level '\(logLevel)'") }
        guard loginTimeout > 0, drainTimeout >= 0 else { throw ValidationError("timeouts must be positive") }
        guard maxMessageSize >= 1024 else { throw ValidationError("--max-message-size: at least 1024 bytes") }
    }

    func run() throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "tiergate")
        signal(SIGPIPE, SIG_IGN)

        var configuration = ProxyServer.Configuration(listen: Endpoint(listen)!)
        configuration.loginTimeout = .milliseconds(Int(loginTimeout * 1000))
        configuration.eventLoops = max(1, eventLoops)
        configuration.maxInspectedMessage = maxMessageSize
        let server: ProxyServer
        do {
            server = try ProxyServer(configuration: configuration,
                                     admitter: DirectAdmission(upstream: Endpoint(upstream)!), logger: logger)
        } catch {
            logger.critical("cannot start", metadata: ["error": "\(error)"])
            throw ExitCode(1)
        }
        server.start()
        ShutdownSignals.install(logger: logger) {
            server.shutdown(drainTimeout: .milliseconds(Int(drainTimeout * 1000))) {
                logger.info("stopped")
                Foundation.exit(0)
            }
        }
        dispatchMain()
    }
}

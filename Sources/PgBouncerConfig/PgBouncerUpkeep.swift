import Logging

/// Keeps PgBouncer's per-org pools in step with tiers while serving: a run now
/// for the admin PGBOUNCER command, and debounced runs after tier changes so a burst of
/// 100 INVALIDATEs causes a few RELOADs, not 100.
///
/// Only the instance whose admin socket received the change regenerates; instances that
/// merely hear the announcement do not, so several proxies never race to write one file.
public final class PgBouncerUpkeep: Sendable {
    public let regenerator: DebouncedRegenerator
    private let run: @Sendable () throws -> PgBouncerRegeneration.Report

    public init(logger: Logger, run: @escaping @Sendable () throws -> PgBouncerRegeneration.Report) {
        self.run = run
        regenerator = DebouncedRegenerator {
            do {
                let report = try run()
                logger.info("pgbouncer config regenerated", metadata: ["report": "\(report)"])
            } catch {
                logger.error("pgbouncer config regeneration failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// For the admin PGBOUNCER command: regenerate now and say what PgBouncer answered.
    public var runNow: @Sendable () throws -> String {
        { [run] in try run().description }
    }
}

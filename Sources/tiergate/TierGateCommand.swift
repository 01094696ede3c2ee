import ArgumentParser

@main
struct TierGateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tiergate",
        abstract: "A connection-gating proxy for PostgreSQL.")
}

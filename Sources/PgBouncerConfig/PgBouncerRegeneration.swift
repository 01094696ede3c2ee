import TierModel

/// One regeneration: read every org, generate, write atomically, ask PgBouncer to RELOAD.
/// What `tiergate pgbouncer-config` runs once and `DebouncedRegenerator` runs on tier
/// changes. Blocking (MongoDB, the file system, the admin console).
public struct PgBouncerRegeneration: Sendable {
    public var loadOrgs: @Sendable () throws -> [OrgDocument]
    public var generator: PgBouncerConfigGenerator
    public var outputPath: String
    /// libpq conninfo of PgBouncer's admin console; nil: write only, no RELOAD.
    public var adminConninfo: String?
    public var writer: AtomicFileWriter

    public init(loadOrgs: @escaping @Sendable () throws -> [OrgDocument], generator: PgBouncerConfigGenerator,
                outputPath: String, adminConninfo: String?, writer: AtomicFileWriter = AtomicFileWriter()) {
        self.loadOrgs = loadOrgs
        self.generator = generator
        self.outputPath = outputPath
        self.adminConninfo = adminConninfo
        self.writer = writer
    }

    /// What a regeneration did.
    public struct Report: Sendable, CustomStringConvertible {
        public let outputPath: String
        public let databases: [PgBouncerDatabase]
        public let bytes: Int
        /// nil when no admin console was given.
        public let reload: PgBouncerReloadAnswer?

        public var description: String {
            var text = "wrote \(outputPath): \(databases.count) org \(databases.count == 1 ? "pool" : "pools"), \(bytes) bytes"
            for entry in databases {
                text += "\n  \(entry.alias) \(entry.tier): pool_size=\(entry.poolSize) min_pool_size=\(entry.minPoolSize) max_db_connections=\(entry.maxDBConnections)"
            }
            text += reload.map { "\nPgBouncer answered: \($0)" } ?? "\nno RELOAD (no --reload-admin)"
            return text
        }
    }

    /// Nothing is written when reading or generating fails; the RELOAD happens only after
    /// the new file is in place.
    public func run() throws -> Report {
        let orgs = try loadOrgs()
        let databases = try generator.databases(for: orgs)
        let text = try generator.generate(orgs: orgs)
        try writer.write(text, to: outputPath)
        let answer = try adminConninfo.map { conninfo throws(PgBouncerAdminError) in
            try PgBouncerAdminConsole(conninfo: conninfo).reload()
        }
        return Report(outputPath: outputPath, databases: databases, bytes: text.utf8.count, reload: answer)
    }
}

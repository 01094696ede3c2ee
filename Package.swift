// swift-tools-version:6.0
import PackageDescription

/// TierGate: a connection-gating Postgres proxy. Dependencies point one way:
/// tiergate -> TierPolicy -> Proxy (the admission seam) and Gate/TierStore/Telemetry
/// -> TierModel/PostgresWire. Proxy knows nothing of tiers: it needs PostgresWire alone.
/// Pure modules (PostgresWire, TierModel, Gate) import no C library and no Dispatch.
let package = Package(
    name: "tiergate",
    // Linux only (built and tested on Debian 12 with Swift 6), so no `platforms` entry:
    // SwiftPM names only Apple platforms there, and none of them builds this package. The
    // sockets call Glibc and Linux's epoll, eventfd and accept4 directly (CLinux, SocketIO),
    // and Synchronization's Mutex and Atomic would need macOS 15 anyway.
    products: [
        .executable(name: "tiergate", targets: ["tiergate"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // 1.16.2: `LogHandler.log(event:)`, which EscapingLogHandler implements.
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
    ],
    targets: [
        // C libraries, found through pkg-config; each is wrapped once by a Swift type.
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq",
                       providers: [.apt(["libpq-dev"])]),
        .systemLibrary(name: "CHiredis", pkgConfig: "hiredis",
                       providers: [.apt(["libhiredis-dev"])]),
        .systemLibrary(name: "CMongoc", pkgConfig: "libmongoc-1.0",
                       providers: [.apt(["libmongoc-dev"])]),
        // Linux epoll, eventfd, sendmsg's iovec, accept4 and glibc's allocator tuning, which
        // Swift's Glibc module leaves out. Part of libc: nothing to link.
        .systemLibrary(name: "CLinux"),
        // OpenSSL 3 (libssl, libcrypto): TLS for clients and towards the upstream, wrapped once by TLS.
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl",
                       providers: [.apt(["libssl-dev"])]),

        // Pure: the Postgres wire protocol as values. No Foundation, no I/O.
        .target(name: "PostgresWire"),
        // Pure: tiers, limits matrix, hints, org documents.
        .target(name: "TierModel", dependencies: ["PostgresWire"]),
        // Pure: admission decisions and per-org counters, clock injected.
        // The token bucket every rate limit uses (connects per org, cancels per address).
        .target(name: "Throttle"),
        .target(name: "Gate", dependencies: ["TierModel", "PostgresWire"]),
        // The metrics TierGate exports: every handle created once with fixed dimensions,
        // per-org series capped or pseudonymised; and the escaping of log lines. Never
        // bootstraps (the /metrics endpoint is Proxy's, the bootstraps the executable's).
        .target(name: "Telemetry", dependencies: [
            "TierModel",
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // MongoDB source of truth, Redis cache, in-process cache, resolver.
        .target(name: "TierStore", dependencies: [
            "TierModel", "CHiredis", "CMongoc", "Telemetry", "Throttle",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
        ]),
        // libpq wrapper: PgBouncer's admin console and the tests' client.
        .target(name: "PostgresClient", dependencies: ["CLibPQ"]),
        // PgBouncer's [databases] per org and tier (docs/design.md#pgbouncer-layer): pure generator,
        // atomic writer, RELOAD through the admin console (libpq), debounced regeneration,
        // and the output and upkeep `serve` and `pgbouncer-config` share.
        .target(name: "PgBouncerConfig", dependencies: [
            "TierModel", "PostgresWire", "PostgresClient",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Non-blocking sockets on Dispatch: one epoll set per event loop (its only Dispatch
        // source), channels with batched writes and hang-up watch, loop timers, listeners
        // (TCP, and Unix sockets bound 0600); the control plane's request/response servers
        // (/metrics, the admin console) on a loop of their own.
        .target(name: "SocketIO", dependencies: ["CLinux", "PostgresWire", "TLS"]),
        // TLS over memory BIOs: contexts (certificate and key, or trusted CAs) and connections
        // the socket layer feeds ciphertext to. The only user of COpenSSL.
        .target(name: "TLS", dependencies: ["COpenSSL"]),
        // Dispatch I/O, tier-free: the session state machine and its shell (startup, upstream
        // connect, relay with backpressure, timeouts, settings injected at idle points),
        // cancel forwarding, the /metrics HTTP endpoint; and the seams a policy plugs into:
        // SessionAdmitter, SessionRules, SessionMailbox, SessionObserver.
        .target(name: "Proxy", dependencies: [
            "SocketIO", "PostgresWire", "TLS", "Throttle",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Tier policy behind the proxy's seams: admission by tier, open sessions per org,
        // live tier changes and downgrade enforcement, burst coordination, session rules,
        // the startup rewrite, the errors it shows clients. Time comes from a PolicyClock.
        .target(name: "TierPolicy", dependencies: [
            "Proxy", "Gate", "TierStore", "TierModel", "Telemetry", "PostgresWire", "Throttle",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // The admin socket: line protocol, command parser, Unix socket server.
        .target(name: "Admin", dependencies: [
            "TierModel", "SocketIO",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "tiergate", dependencies: [
            "Admin", "Proxy", "SocketIO", "TLS", "TierPolicy", "TierStore", "TierModel", "PostgresWire", "PostgresClient", "PgBouncerConfig", "Telemetry",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        .testTarget(name: "PostgresWireTests", dependencies: ["PostgresWire"]),
        .testTarget(name: "TierModelTests", dependencies: ["TierModel", "PostgresWire"]),
        .testTarget(name: "GateTests", dependencies: ["Gate", "TierModel", "PostgresWire", "Throttle"]),
        // Loop timers, pending writes and request framing with no socket; the control
        // server over real sockets.
        .testTarget(name: "SocketIOTests", dependencies: ["SocketIO", "PostgresWire"]),
        // Two TLS connections talking through memory, certificates made with the openssl CLI.
        // Certificates made with the openssl CLI, for the TLS unit and integration tests.
        .target(name: "TestCertificates", path: "Tests/TestCertificates"),
        .testTarget(name: "TLSTests", dependencies: ["TLS", "TestCertificates"]),
        // The proxy's pure parts (session state machine, startup phase, settings injection,
        // session mailbox, the /metrics request), with no socket.
        .testTarget(name: "ProxyTests", dependencies: ["Proxy", "PostgresWire"]),
        // Tier policy with no services: admission counters, session rules, startup rewrite,
        // downgrade grace and burst timing on a manual clock.
        .testTarget(name: "TierPolicyTests", dependencies: [
            "TierPolicy", "Admin", "Proxy", "PostgresWire", "TierModel", "Gate", "TierStore", "Telemetry",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "MetricsTestKit", package: "swift-metrics"),
        ]),
        .testTarget(name: "AdminTests", dependencies: ["Admin", "TierModel"]),
        .testTarget(name: "TelemetryTests", dependencies: [
            "Telemetry", "TierModel",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "MetricsTestKit", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        .testTarget(name: "PgBouncerConfigTests", dependencies: ["PgBouncerConfig", "TierModel", "PostgresWire"],
                    exclude: ["Golden"]),
        // Real services from scripts/stack.sh, real clients, the real binary.
        // Clients/: drivers this machine has no Swift binding for (pgjdbc, a raw startup packet).
        .testTarget(name: "IntegrationTests", dependencies: [
            "PostgresClient", "TierStore", "TierModel", "PostgresWire", "PgBouncerConfig", "tiergate", "TestCertificates",
        ], exclude: ["Clients"]),
        // Nanoseconds per admission decision (gate, in-process cache, Redis hit, MongoDB miss),
        // built in release and run by bench/run.sh; not a test, asserts nothing.
        .executableTarget(name: "tiergate-gate-bench", dependencies: [
            "Gate", "TierModel", "TierStore",
            .product(name: "Logging", package: "swift-log"),
        ], path: "Benchmarks/GateBench"),
    ]
)

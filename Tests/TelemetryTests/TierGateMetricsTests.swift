import MetricsTestKit
import Prometheus
import Telemetry
import Testing
import TierModel

struct TierGateMetricsTests {
    typealias Name = TierGateMetrics.Name

    @Test func admittedSession_countsByTier_andIsOpenUntilClosed() throws {
        let test = TestMetrics()
        let metrics = TierGateMetrics(factory: test)
        let org = try OrgId("org_acme")
        metrics.sessionAdmitted(org: org, tier: .free)
        metrics.sessionAdmitted(org: org, tier: .free)
        #expect(try test.expectCounter(Name.admitted, [("tier", "FREE")]).totalValue == 2)
        #expect(try test.expectMeter(Name.openSessions, [("tier", "FREE")]).lastValue == 2)
        #expect(try test.expectMeter(Name.orgOpenSessions, [("org", "org_acme")]).lastValue == 2)
        metrics.sessionClosed(org: org, tier: .free)
        #expect(try test.expectMeter(Name.openSessions, [("tier", "FREE")]).lastValue == 1)
    }

    @Test func connectionLimitRefusal_isARefusalAndALimitHit() throws {
        let test = TestMetrics()
        let metrics = TierGateMetrics(factory: test)
        metrics.refused(.connectionLimit, tier: .pro)
        #expect(try test.expectCounter(Name.refused, [("tier", "PRO"), ("reason", "connection_limit")]).totalValue == 1)
        #expect(try test.expectCounter(Name.connectionLimitHits, [("tier", "PRO")]).totalValue == 1)
    }

    @Test func queue_lengthMovesPerTier_andEveryExitRecordsItsWait() throws {
        let test = TestMetrics()
        let metrics = TierGateMetrics(factory: test)
        metrics.queued(tier: .free)
        metrics.queued(tier: .free)
        metrics.queued(tier: .enterprise)
        #expect(try test.expectMeter(Name.queueLength, [("tier", "FREE")]).lastValue == 2)
        metrics.leftQueue(tier: .free, waited: .milliseconds(1500))
        #expect(try test.expectMeter(Name.queueLength, [("tier", "FREE")]).lastValue == 1)
        #expect(try test.expectMeter(Name.queueLength, [("tier", "ENTERPRISE")]).lastValue == 1)
        #expect(try test.expectTimer(Name.queueWait, [("tier", "FREE")]).values == [1_500_000_000])
        #expect(try test.expectTimer(Name.queueWait, [("tier", "ENTERPRISE")]).values.isEmpty)
    }

    @Test func overloadRefusals_haveTheirOwnReasons_andAreNoLimitHits() throws {
        let test = TestMetrics()
        let metrics = TierGateMetrics(factory: test)
        metrics.refused(.connectRate, tier: .free)
        metrics.refused(.upstreamCapacity, tier: .starter)
        #expect(try test.expectCounter(Name.refused, [("tier", "FREE"), ("reason", "connect_rate")]).totalValue == 1)
        #expect(try test.expectCounter(Name.refused, [("tier", "STARTER"), ("reason", "upstream_capacity")]).totalValue == 1)
        #expect(test.counterTotal(label: Name.connectionLimitHits) == 0)
    }

    @Test func statementsAndInvalidationFailures_areCounted() throws {
        let test = TestMetrics()
        let metrics = TierGateMetrics(factory: test)
        metrics.statementReceived(tier: .pro)
        metrics.statementReceived(tier: .pro)
        metrics.invalidationFailed(.announce)
        #expect(try test.expectCounter(Name.statements, [("tier", "PRO")]).totalValue == 2)
        #expect(try test.expectCounter(Name.invalidationFailures, [("stage", "announce")]).totalValue == 1)
        #expect(try test.expectCounter(Name.invalidationFailures, [("stage", "redis")]).totalValue == 0)
    }

    @Test func refusalBeforeTheTierIsKnown_hasTierNone() throws {
        let test = TestMetrics()
        let metrics = TierGateMetrics(factory: test)
        metrics.refused(.unknownOrg, tier: nil)
        #expect(try test.expectCounter(Name.refused, [("tier", "none"), ("reason", "unknown_org")]).totalValue == 1)
        #expect(test.counterTotal(label: Name.connectionLimitHits) == 0)
    }

    @Test func everyHandle_isCreatedUpFront_withFixedDimensions() {
        let test = TestMetrics()
        _ = TierGateMetrics(factory: test, adminCommands: ["show_stats", "other"])
        let before = test.counters.count
        // Recording creates nothing new.
        let metrics = TierGateMetrics(factory: test, adminCommands: ["show_stats", "other"])
        metrics.refused(.protocol, tier: nil)
        metrics.lookup(.redisHit)
        metrics.adminCommand("show_stats")
        metrics.adminCommand("not_a_label")
        #expect(test.counters.count == before)
        #expect(test.counters(label: Name.refused).count == (Tier.allCases.count + 1) * RefusalReason.allCases.count)
    }

    @Test func orgSeries_areCapped_andTheRestFoldIntoOther() throws {
        let test = TestMetrics()
        let metrics = TierGateMetrics(factory: test, orgSeriesCap: 2)
        let orgs = try ["org_a", "org_b", "org_c", "org_d"].map { try OrgId($0) }
        for org in orgs { metrics.sessionAdmitted(org: org, tier: .starter) }
        #expect(metrics.orgSeriesCount == 2)
        #expect(try test.expectMeter(Name.orgOpenSessions, [("org", "_other")]).lastValue == 2)
        #expect((try? test.expectMeter(Name.orgOpenSessions, [("org", "org_c")])) == nil)
    }

    @Test func orgSeries_isDestroyedWhenTheOrgsLastSessionCloses() throws {
        let test = TestMetrics()
        let metrics = TierGateMetrics(factory: test, orgSeriesCap: 1)
        let a = try OrgId("org_a"), b = try OrgId("org_b")
        metrics.sessionAdmitted(org: a, tier: .free)
        metrics.sessionClosed(org: a, tier: .free)
        #expect(metrics.orgSeriesCount == 0)
        #expect((try? test.expectMeter(Name.orgOpenSessions, [("org", "org_a")])) == nil)
        // The freed slot goes to the next org.
        metrics.sessionAdmitted(org: b, tier: .free)
        #expect(try test.expectMeter(Name.orgOpenSessions, [("org", "org_b")]).lastValue == 1)
    }

    @Test func lookups_countByLayerAndResult() throws {
        let test = TestMetrics()
        let metrics = TierGateMetrics(factory: test)
        metrics.lookup(.inProcessHit)
        metrics.lookup(.redisMiss)
        metrics.lookup(.sourceRead)
        #expect(try test.expectCounter(Name.cacheLookups, [("layer", "in_process"), ("result", "hit")]).totalValue == 1)
        #expect(try test.expectCounter(Name.cacheLookups, [("layer", "redis"), ("result", "miss")]).totalValue == 1)
        #expect(try test.expectCounter(Name.cacheLookups, [("layer", "mongodb"), ("result", "read")]).totalValue == 1)
        metrics.lookupCompleted(after: .milliseconds(3))
        #expect(try test.expectTimer(Name.lookupDuration).lastValue == 3_000_000)
    }

    @Test func prometheusExposition_namesEveryFamily() throws {
        let registry = PrometheusCollectorRegistry()
        let metrics = TierGateMetrics(factory: PrometheusMetricsFactory(registry: registry), adminCommands: ["ping", "other"])
        metrics.sessionAdmitted(org: try OrgId("org_acme"), tier: .enterprise)
        metrics.statementTimedOut(tier: .free)
        let text = registry.emitToString()
        #expect(text.contains(#"tiergate_connections_admitted_total{tier="ENTERPRISE"} 1"#))
        #expect(text.contains(#"tiergate_org_open_sessions{org="org_acme"} 1"#))
        #expect(text.contains(#"tiergate_statement_timeouts_total{tier="FREE"} 1"#))
        for name in [Name.refused, Name.cacheLookups, Name.settingsRefusals, Name.adminCommands, Name.thrashing,
                     Name.upstreamFailures, Name.connectionLimitHits, Name.lookupDuration] {
            #expect(text.contains("# TYPE \(name)"), "\(name) missing")
        }
    }
}

struct BurstMetricsTests {
    typealias Name = TierGateMetrics.Name

    @Test func burstStartMinutesAndEnd_areCountedByBurstTier() throws {
        let test = TestMetrics()
        let metrics = TierGateMetrics(factory: test)
        metrics.burstStarted(tier: .enterprise)
        metrics.burstMinutesBilled(1, tier: .enterprise)
        metrics.burstMinutesBilled(0, tier: .enterprise)
        metrics.burstMinutesBilled(14, tier: .enterprise)
        metrics.burstEnded(after: .seconds(900), tier: .enterprise)
        metrics.burstActivated(after: .milliseconds(2))
        #expect(try test.expectCounter(Name.burstsStarted, [("tier", "ENTERPRISE")]).totalValue == 1)
        #expect(try test.expectCounter(Name.burstMinutesBilled, [("tier", "ENTERPRISE")]).totalValue == 15)
        #expect(try test.expectCounter(Name.burstSeconds, [("tier", "ENTERPRISE")]).totalValue == 900)
        #expect(try test.expectTimer(Name.burstActivation).lastValue == 2_000_000)
    }

    @Test func burstActive_isASeriesPerBurstingOrg_goneWhenTheBurstEnds() throws {
        let test = TestMetrics()
        let metrics = TierGateMetrics(factory: test)
        let org = try OrgId("org_gamma")
        metrics.burstActive(org, true)
        #expect(try test.expectMeter(Name.burstActive, [("org", "org_gamma")]).lastValue == 1)
        metrics.burstActive(org, false)
        #expect((try? test.expectMeter(Name.burstActive, [("org", "org_gamma")])) == nil)
    }
}

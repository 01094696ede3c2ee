import Testing
@testable import TierModel

@Suite struct UpgradeHintTests {
    let m = TierMatrix.builtIn

    @Test func connectionLimit_suggestsNextTierWithItsConnectionCount() {
        #expect(UpgradeHint.connectionLimit(tier: .free, matrix: m).text == "Upgrade to STARTER for 10 connections")
        #expect(UpgradeHint.connectionLimit(tier: .starter, matrix: m).text == "Upgrade to PRO for 50 connections")
        #expect(UpgradeHint.connectionLimit(tier: .pro, matrix: m).text == "Upgrade to ENTERPRISE for 100 connections")
        #expect(UpgradeHint.connectionLimit(tier: .free, matrix: m).suggestedTier == .starter)
    }

    @Test func connectionLimit_atEnterprise_offersWhatIsLeft() {
        let hint = UpgradeHint.connectionLimit(tier: .enterprise, matrix: m)
        #expect(hint.text == "ENTERPRISE is the highest tier: close idle connections or contact sales for a dedicated plan")
        #expect(hint.suggestedTier == nil)
    }

    @Test func queryTimeout_matchesTheDesignsWording() {
        #expect(UpgradeHint.queryTimeout(tier: .starter, matrix: m).text == "Upgrade to PRO for 60s timeout or optimize query")
        #expect(UpgradeHint.queryTimeout(tier: .free, matrix: m).text == "Upgrade to STARTER for 30s timeout or optimize query")
        #expect(UpgradeHint.queryTimeout(tier: .pro, matrix: m).text
                == "Upgrade to ENTERPRISE for 120s timeout or optimize query")
    }

    @Test func queryTimeout_atEnterprise_saysToOptimize() {
        #expect(UpgradeHint.queryTimeout(tier: .enterprise, matrix: m).text == "Optimize the query: 120s is the ENTERPRISE limit")
    }

    @Test func workMemory_matchesTheDesignsWording() {
        #expect(UpgradeHint.workMemory(tier: .free, matrix: m).text == "Upgrade to STARTER for 16MB work_mem")
        #expect(UpgradeHint.workMemory(tier: .pro, matrix: m).text == "Upgrade to ENTERPRISE for 128MB work_mem")
        #expect(UpgradeHint.workMemory(tier: .enterprise, matrix: m).text
                == "Reduce the query's memory use: 128MB work_mem is the ENTERPRISE limit")
    }

    @Test func numbers_comeFromTheMatrixInForce() {
        var shrunk = m
        shrunk[.starter].postgres.maxConnections = 3
        shrunk[.starter].postgres.queryTimeout = 2500
        #expect(UpgradeHint.connectionLimit(tier: .free, matrix: shrunk).text == "Upgrade to PRO for 50 connections")
        shrunk[.free].postgres.queryTimeout = 2000
        #expect(UpgradeHint.queryTimeout(tier: .free, matrix: shrunk).text
                == "Upgrade to STARTER for 2500ms timeout or optimize query")
    }

    @Test func nextTierThatDoesNotRaiseTheLimit_isSkipped() {
        var flat = m
        flat[.starter].postgres.maxConnections = 5
        #expect(UpgradeHint.connectionLimit(tier: .free, matrix: flat).text == "Upgrade to PRO for 50 connections")
        #expect(UpgradeHint.connectionLimit(tier: .free, matrix: flat).suggestedTier == .pro)
    }

    @Test func noTierRaisingTheLimit_saysSoBelowEnterprise() {
        var flat = m
        for tier in Tier.allCases { flat[tier].postgres.maxConnections = 5 }
        #expect(UpgradeHint.connectionLimit(tier: .pro, matrix: flat).text
                == "No tier offers more than 5 connections: close idle connections or contact sales for a dedicated plan")
    }

    @Test func hintKinds_areMetricLabels() {
        #expect(UpgradeHint.Kind.allCases.map(\.rawValue)
                == ["connection_limit", "query_timeout", "work_memory", "session_setting", "connect_rate", "server_capacity"])
        #expect(UpgradeHint.workMemory(tier: .free, matrix: m).kind == .workMemory)
    }

    @Test func sessionSetting_offersTheCheapestTierThatRaisesIt_orNoLimit() {
        let maintenance = UpgradeHint.sessionSetting(.maintenanceWorkMem, tier: .free, matrix: m)
        #expect(maintenance.text == "Upgrade to STARTER for up to 64MB maintenance_work_mem")
        #expect(maintenance.kind == .sessionSetting)
        #expect(maintenance.suggestedTier == .starter)
        #expect(UpgradeHint.sessionSetting(.idleInTransactionSessionTimeout, tier: .starter, matrix: m).text
                == "Upgrade to PRO for no idle_in_transaction_session_timeout limit")
        #expect(UpgradeHint.sessionSetting(.tempFileLimit, tier: .enterprise, matrix: m).text
                == "Use at most 32GB temp_file_limit: that is the ENTERPRISE limit")
        var flat = m
        for tier in Tier.allCases { flat[tier].postgres.maxParallelMaintenanceWorkers = 1 }
        #expect(UpgradeHint.sessionSetting(.maxParallelMaintenanceWorkers, tier: .free, matrix: flat).text
                == "Use at most 1 max_parallel_maintenance_workers: no tier offers more")
    }
}

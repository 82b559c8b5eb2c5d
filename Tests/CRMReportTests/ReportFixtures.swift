import CRMReport

/// Fixed figures of a small brokerage, shaped like what `crmctl report` reads from the services.
enum ReportFixtures {
    static let figures = ReportFigures(
        title: "券商CRM head-office report",
        generatedAt: "2026-11-29 09:00",
        source: "generated brokerage: 2,000 customers, seed 42",
        totalCustomers: 2_000,
        totalAssetsFen: 123_456_789_012,
        products: 400,
        classDistributions: [
            .init(scheme: "asset_tier", description: "by avg_assets_90d", classes: [
                .init("basic", 1_210), .init("silver", 420), .init("gold", 250), .init("platinum", 95), .init("diamond", 25),
            ]),
            .init(scheme: "lifecycle_stage", description: "new, active, dormant, lost", classes: [
                .init("new", 150), .init("active", 1_100), .init("dormant", 500), .init("lost", 250),
            ]),
            .init(scheme: "age_group", description: "by age_years", classes: [
                .init("young", 300), .init("prime", 800), .init("mature", 600), .init("senior", 300),
            ]),
        ],
        branches: [
            .init(branchID: "B001", name: "上海世纪大道证券营业部", customers: 900, assetsFen: 61_000_000_000),
            .init(branchID: "B002", name: "北京金融大街证券营业部", customers: 700, assetsFen: 42_000_000_000),
            .init(branchID: "B003", name: "深圳福田证券营业部", customers: 400, assetsFen: 20_456_789_012),
        ],
        assetTiers: [
            .init(tier: "basic", customers: 1_210, assetsFen: 3_000_000_000),
            .init(tier: "silver", customers: 420, assetsFen: 11_000_000_000),
            .init(tier: "gold", customers: 250, assetsFen: 24_000_000_000),
            .init(tier: "platinum", customers: 95, assetsFen: 38_000_000_000),
            .init(tier: "diamond", customers: 25, assetsFen: 47_456_789_012),
        ],
        campaigns: [
            .init(campaignID: "demo-020031", name: "Autumn bond fund push", productCode: "020031", targets: 100, reached: 20, bought: 9,
                  hitRate: 0.09, untargetedEligible: 800, untargetedBought: 12, baselineRate: 0.015, lift: 6),
        ],
        model: .init(
            version: "m-20261129-1", heldOutMonth: "2026-10", trainingMonths: ["2026-04", "2026-05", "2026-06", "2026-07", "2026-08", "2026-09"],
            trainingRows: 48_000, validationAUC: 0.781, evaluatedProducts: 10,
            rankings: [.init(k: 50, model: 0.084, random: 0.012, richest: 0.02, modelLift: 7), .init(k: 200, model: 0.041, random: 0.011, richest: 0.017, modelLift: 3.7)],
            topFeatures: [.init("viewed_family_90d", 0.31), .init("avg_assets_90d", 0.18), .init("trade_count_90d", 0.09)]
        )
    )
}

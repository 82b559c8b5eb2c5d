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
        ),
        compensation: .init(month: "2026-10", statements: 12, totalPayFen: 234_567_891, topManagers: [
            .init(managerID: "M00007", name: "王芳", branchID: "B001", grade: "M4", netCommissionFen: 4_512_345, totalFen: 1_234_567),
            .init(managerID: "M00003", name: "李娜", branchID: "B002", grade: "M3", netCommissionFen: 3_000_001, totalFen: 617_284),
            .init(managerID: "M00011", name: "张伟", branchID: "B001", grade: "M5", netCommissionFen: 2_000_000, totalFen: 500_000),
            .init(managerID: "M00002", name: "刘洋", branchID: "B003", grade: "M2", netCommissionFen: 900_000, totalFen: 123_456),
        ])
    )

    /// A statement that adds up: M3 bands (15 % to ¥3,000, 18 % to ¥6,000), margin interest at
    /// 5 %, rebates at 30 %, assessment 1.05 and compliance 1.
    static let statement = StatementFigures(
        managerID: "M00007", name: "王芳", grade: "M3", branch: "B001 上海世纪大道证券营业部", team: "B001-T1", month: "2026-10",
        ruleVersion: "M3 v1", lineCount: 164, adjustmentCount: 1, customersAtMonthEnd: 212, customersWithIncome: 87,
        sources: [
            .init(name: "cash commission (net)", items: 120, incomeFen: 380_000, rateBp: nil, payFen: nil),
            .init(name: "margin commission (net)", items: 30, incomeFen: 70_000, rateBp: nil, payFen: nil),
            .init(name: "margin interest", items: 12, incomeFen: 300_000, rateBp: 500, payFen: 15_000),
            .init(name: "product sales rebate", items: 2, incomeFen: 80_000, rateBp: 3_000, payFen: 24_000),
        ],
        netCommissionFen: 450_000,
        bands: [
            .init(lowerFen: 0, upperFen: 300_000, rateBp: 1_500, portionFen: 300_000, payFen: 45_000),
            .init(lowerFen: 300_000, upperFen: 600_000, rateBp: 1_800, portionFen: 150_000, payFen: 27_000),
        ],
        commissionPayFen: 72_000, subtotalFen: 111_000,
        coefficients: [
            .init(kind: "assessment", coefficient: "1.05", baseFen: 111_000, amountFen: 5_550),
            .init(kind: "compliance", coefficient: "1", baseFen: 116_550, amountFen: 0),
        ],
        totalFen: 116_550
    )
}

import CRMProtos

/// Generates the product library: the mix of a real brokerage's shelf (money-market, bond, mixed,
/// equity, index and QDII funds, bonds, asset-management plans, structured notes, advisory packages)
/// with risk levels, horizons and minimums that go with each type, mostly on sale, and a long tail
/// of popularity.
struct ProductLibrary {
    let products: [GeneratedProduct]
    let facts: [ProductFacts]

    /// The firm that sells everything (fictional).
    static let firm = "华远证券股份有限公司"
    static let firmAssetManager = "华远证券资产管理有限公司"

    /// Shares of the library by family, per thousand products.
    static let mix: [WorldFamily: Int] = [
        .moneyMarketFund: 60, .bondFund: 150, .mixedFund: 180, .equityFund: 150, .indexFund: 120,
        .qdiiFund: 50, .bond: 80, .assetManagement: 120, .structuredNote: 60, .advisoryPackage: 30,
    ]

    init(configuration: WorldConfiguration, calendar: WorldCalendar) {
        var random = WorldRandom(seed: configuration.seed, salt: 0x9D0_0001)
        let counts = Self.allocate(total: configuration.products)
        var products: [GeneratedProduct] = []
        var facts: [ProductFacts] = []
        var plans: [ProductPlan] = []
        for family in WorldFamily.allCases {
            for ordinal in 0..<counts[family.rawValue] {
                plans.append(ProductPlan(family: family, ordinal: ordinal, status: Self.status(ordinal: ordinal, &random)))
            }
        }
        Self.ensureEveryStatus(&plans)
        for (index, plan) in plans.enumerated() {
            let (product, fact) = Self.make(plan, index: index, configuration: configuration, calendar: calendar, &random)
            products.append(product)
            facts.append(fact)
        }
        self.products = products
        self.facts = facts
    }

    /// Products per family: the mix scaled to `total` by largest remainders, at least two each.
    static func allocate(total: Int) -> [Int] {
        let families = WorldFamily.allCases
        let exact = families.map { Double(total) * Double(mix[$0] ?? 0) / 1_000 }
        var counts = exact.map { max(2, Int($0)) }
        var remaining = total - counts.reduce(0, +)
        let order = families.indices.sorted { (exact[$0] - Double(Int(exact[$0])), -$0) > (exact[$1] - Double(Int(exact[$1])), -$1) }
        var cursor = 0
        while remaining > 0 {
            counts[order[cursor % order.count]] += 1
            remaining -= 1
            cursor += 1
        }
        return counts
    }

    struct ProductPlan {
        let family: WorldFamily
        let ordinal: Int
        var status: Crm_Products_V1_ProductStatus
    }

    /// Mostly on sale; the first two of each family always are, so every family can be bought.
    static func status(ordinal: Int, _ random: inout WorldRandom) -> Crm_Products_V1_ProductStatus {
        guard ordinal >= 2 else { return .onSale }
        switch random.uniform() {
        case ..<0.82: return .onSale
        case ..<0.89: return .closed
        case ..<0.93: return .suspended
        case ..<0.97: return .preSale
        default: return .draft
        }
    }

    /// Small libraries may miss a status by chance: give each missing one to a product of the
    /// largest families (never one of the first two of a family).
    static func ensureEveryStatus(_ plans: inout [ProductPlan]) {
        let wanted: [Crm_Products_V1_ProductStatus] = [.closed, .suspended, .preSale, .draft]
        var candidates = plans.indices.filter { plans[$0].ordinal >= 2 && plans[$0].status == .onSale }
        for status in wanted where !plans.contains(where: { $0.status == status }) {
            guard let index = candidates.popLast() else { return }
            plans[index].status = status
        }
    }

    // MARK: One product

    static func make(_ plan: ProductPlan, index: Int, configuration: WorldConfiguration, calendar: WorldCalendar,
                     _ random: inout WorldRandom) -> (GeneratedProduct, ProductFacts) {
        let family = plan.family
        let spanStart = calendar.spanStart
        let today = configuration.today
        var record = Crm_Products_V1_Product()
        record.productCode = code(family: family, ordinal: plan.ordinal)
        let (name, issuer) = naming(family: family, ordinal: plan.ordinal, &random)
        record.name = name
        record.issuer = issuer
        record.type = family.productType
        let risk = riskLevel(family: family, ordinal: plan.ordinal, &random)
        record.riskLevel = Crm_Common_V1_RiskLevel(rawValue: risk) ?? .r3
        record.status = plan.status
        let minimum = minimumPurchase(family: family, &random)
        record.minimumPurchase = Wire.money(minimum)
        record.horizon = horizon(family: family, &random)
        record.variety = family.variety
        let returns = expectedReturn(family: family, risk: risk, &random)
        record.expectedReturn = .with {
            $0.lowBp = returns.low
            $0.highBp = returns.high
        }
        record.fees = fees(family: family, &random)
        record.salesRebateBp = rebate(family: family, &random)

        // The sales window, and from it when the product can be bought and viewed.
        var firstPurchaseMonth: Int?
        var visibleFrom: WorldDay?
        var launchedInYear = false
        switch plan.status {
        case .onSale:
            let launchMonth = plan.ordinal >= 2 && random.chance(0.2) && configuration.months > 1
                ? 1 + random.below(configuration.months - 1) : nil
            let start: WorldDay
            if let launchMonth {
                start = calendar.month(purchaseMonth: launchMonth).firstDay
                launchedInYear = true
            } else {
                let yearsBack = family == .assetManagement || family == .structuredNote || family == .bond ? 1.5 : 10.0
                start = spanStart - 1 - WorldDay(random.uniform() * yearsBack * 365)
            }
            let openEnded = family.isFund && random.chance(0.75)
            record.salesWindow = .with {
                $0.start = Wire.date(start)
                if !openEnded { $0.end = Wire.date(today + WorldDay(random.int(15...700))) }
            }
            firstPurchaseMonth = launchMonth ?? 0
            visibleFrom = start
        case .closed:
            let end = spanStart - WorldDay(random.int(1...300))
            record.salesWindow = .with {
                $0.start = Wire.date(end - WorldDay(random.int(200...2_500)))
                $0.end = Wire.date(end)
            }
        case .suspended:
            let start = spanStart - WorldDay(random.int(100...2_000))
            record.salesWindow = .with { $0.start = Wire.date(start) }
            visibleFrom = start
        case .preSale:
            let start = today + WorldDay(random.int(3...60))
            record.salesWindow = .with {
                $0.start = Wire.date(start)
                $0.end = Wire.date(start + WorldDay(random.int(30...400)))
            }
            // Advertised during the last month of the year.
            visibleFrom = calendar.month(purchaseMonth: configuration.months - 1).firstDay
        default:
            break
        }

        var popularity = random.logNormal(median: 1, sigma: 1.2)
        if launchedInYear { popularity *= 1.5 }
        record.tags = tags(family: family, risk: risk, launchedInYear: launchedInYear, popularity: popularity, &random)
        if random.chance(0.15) { record.targetRule = targetRule(family: family, &random) }

        let product = GeneratedProduct(index: index, record: record, contractTemplate: template(for: record), family: family,
                                       popularity: popularity, firstPurchaseMonth: firstPurchaseMonth)
        let fact = ProductFacts(family: family, risk: risk, horizon: record.horizon.rawValue, variety: record.variety.rawValue,
                                popularity: popularity, minimumFen: minimum,
                                expectedReturnMid: Double(returns.low + returns.high) / 2 / 10_000,
                                firstPurchaseMonth: firstPurchaseMonth, visibleFrom: visibleFrom)
        return (product, fact)
    }

    /// Six-character codes with a family prefix: funds and bonds look like exchange codes.
    static func code(family: WorldFamily, ordinal: Int) -> String {
        let prefix: String
        switch family {
        case .moneyMarketFund: prefix = "00"
        case .bondFund: prefix = "01"
        case .mixedFund: prefix = "02"
        case .equityFund: prefix = "03"
        case .indexFund: prefix = "51"
        case .qdiiFund: prefix = "09"
        case .bond: prefix = "12"
        case .assetManagement: prefix = "AM"
        case .structuredNote: prefix = "SN"
        case .advisoryPackage: prefix = "TG"
        }
        return prefix + Wire.padded(ordinal + 1, width: 4)
    }

    static let fundHouses = ["华夏基金", "易方达基金", "南方基金", "广发基金", "嘉实基金", "博时基金", "汇添富基金", "富国基金",
                             "招商基金", "工银瑞信基金", "天弘基金", "鹏华基金", "景顺长城基金", "兴证全球基金", "中欧基金"]

    static func naming(family: WorldFamily, ordinal: Int, _ random: inout WorldRandom) -> (name: String, issuer: String) {
        let house = random.pick(fundHouses)
        let short = String(house.dropLast(2))
        let shareClass = random.chance(0.5) ? "A" : "C"
        switch family {
        case .moneyMarketFund:
            return (short + random.pick(["天天理财", "现金宝", "货币增利", "日日鑫", "添益", "安心收益"]) + "货币" + (random.chance(0.5) ? "A" : "B"), house)
        case .bondFund:
            return (short + random.pick(["纯债", "短债", "信用债", "稳健双利", "中短债", "可转债"]) + "债券" + shareClass, house)
        case .mixedFund:
            return (short + random.pick(["灵活配置", "价值优选", "平衡成长", "稳健回报", "远见精选", "核心资产"]) + "混合" + shareClass, house)
        case .equityFund:
            return (short + random.pick(["新能源", "医疗健康", "科技创新", "消费升级", "高端制造", "半导体", "红利低波", "蓝筹精选"]) + "股票" + shareClass, house)
        case .indexFund:
            return (short + random.pick(["沪深300", "中证500", "中证1000", "创业板", "科创50", "上证50", "中证红利", "恒生科技"])
                + random.pick(["ETF联接", "指数增强", "ETF"]) + shareClass, house)
        case .qdiiFund:
            return (short + random.pick(["纳斯达克100", "标普500", "全球科技", "港股通精选", "日经225", "全球医疗"]) + "(QDII)", house)
        case .bond:
            let issuer = random.pick(["财政部", "国家开发银行", "中国农业发展银行", "中国华能集团", "国家电网", "中国铁建", "招商局集团"])
            let year = random.pick(["24", "25"])
            let series = Wire.padded(ordinal % 30 + 1, width: 2)
            switch issuer {
            case "财政部": return (year + "附息国债" + series, issuer)
            case "国家开发银行": return (year + "国开" + series, issuer)
            case "中国农业发展银行": return (year + "农发" + series, issuer)
            default:
                let short = ["中国华能集团": "华能", "国家电网": "国网", "中国铁建": "铁建"][issuer] ?? "招商局"
                return (year + short + "MTN0" + series, issuer)
            }
        case .assetManagement:
            return ("华远" + random.pick(["稳盈", "睿享", "鑫选", "固收增强", "量化对冲", "多策略"]) + "\(ordinal + 1)号集合资产管理计划", firmAssetManager)
        case .structuredNote:
            return ("华远收益凭证" + random.pick(["保本型", "鲨鱼鳍", "雪球", "看涨价差"]) + "第\(ordinal + 1)期", firm)
        case .advisoryPackage:
            return ("华远" + random.pick(["基金投顾·", "股票投顾·"]) + random.pick(["稳健理财", "均衡配置", "积极进取", "养老规划", "ETF轮动"]) + "服务包", firm)
        }
    }

    /// Risk levels that go with the type, R1 (money-market) to R5 (some equity and QDII funds).
    static func riskLevel(family: WorldFamily, ordinal: Int, _ random: inout WorldRandom) -> Int {
        // The first product of a family takes the family's lowest usual level, so that small
        // libraries still have products every risk tolerance may buy.
        let weights: [Double]
        switch family {
        case .moneyMarketFund: weights = [1, 0, 0, 0, 0]
        case .bondFund: weights = [0.2, 0.8, 0, 0, 0]
        case .mixedFund: weights = [0, 0, 0.6, 0.4, 0]
        case .equityFund: weights = [0, 0, 0, 0.7, 0.3]
        case .indexFund: weights = [0, 0, 0.3, 0.7, 0]
        case .qdiiFund: weights = [0, 0, 0, 0.5, 0.5]
        case .bond: weights = [0.3, 0.5, 0.2, 0, 0]
        case .assetManagement: weights = [0, 0.3, 0.4, 0.2, 0.1]
        case .structuredNote: weights = [0.3, 0.3, 0.25, 0.15, 0]
        case .advisoryPackage: weights = [0, 0.4, 0.6, 0, 0]
        }
        if ordinal == 0, let lowest = weights.firstIndex(where: { $0 > 0 }) { return lowest + 1 }
        return random.weighted(weights) + 1
    }

    static func horizon(family: WorldFamily, _ random: inout WorldRandom) -> Crm_Products_V1_InvestmentHorizon {
        let weights: [Double]
        switch family {
        case .moneyMarketFund, .advisoryPackage: weights = [1, 0, 0, 0]
        case .bondFund: weights = [0.3, 0.7, 0, 0]
        case .mixedFund: weights = [0, 0.4, 0.6, 0]
        case .equityFund: weights = [0, 0, 0.7, 0.3]
        case .indexFund: weights = [0, 0.4, 0.6, 0]
        case .qdiiFund: weights = [0, 0, 1, 0]
        case .bond: weights = [0, 0.6, 0.4, 0]
        case .assetManagement: weights = [0.2, 0.8, 0, 0]
        case .structuredNote: weights = [0.6, 0.4, 0, 0]
        }
        return Crm_Products_V1_InvestmentHorizon(rawValue: random.weighted(weights) + 1) ?? .oneTo3Years
    }

    /// Minimum purchases in fen: from 1 yuan (money-market) to 1,000,000 yuan (some asset management).
    static func minimumPurchase(family: WorldFamily, _ random: inout WorldRandom) -> Int64 {
        let yuan: Double
        switch family {
        case .moneyMarketFund: yuan = random.pick([1, 100])
        case .bondFund, .mixedFund, .equityFund, .indexFund: yuan = random.pick([10, 100, 1_000])
        case .qdiiFund: yuan = 1_000
        case .bond: yuan = 1_000
        case .assetManagement: yuan = random.pick([50_000, 100_000, 300_000, 1_000_000])
        case .structuredNote: yuan = random.pick([50_000, 100_000])
        case .advisoryPackage: yuan = random.pick([1_000, 3_000, 5_000, 10_000])
        }
        return Fen.yuan(yuan)
    }

    static func expectedReturn(family: WorldFamily, risk: Int, _ random: inout WorldRandom) -> (low: Int32, high: Int32) {
        let low: Double
        let high: Double
        switch family {
        case .moneyMarketFund: low = 120; high = 220
        case .bondFund: low = 150; high = 450
        case .mixedFund: low = -1_500; high = 2_500
        case .equityFund: low = -3_000; high = 4_000
        case .indexFund: low = -2_500; high = 3_500
        case .qdiiFund: low = -2_500; high = 3_500
        case .bond: low = 180; high = 480
        case .assetManagement: low = risk <= 3 ? 300 : -1_000; high = risk <= 3 ? 800 : 1_500
        case .structuredNote: low = risk == 1 ? 100 : -2_000; high = risk == 1 ? 500 : 1_500
        case .advisoryPackage: low = -1_000; high = 2_000
        }
        let jitter = random.uniform(0.85, 1.15)
        let lowBp = Int32((low * jitter).rounded())
        let highBp = max(lowBp, Int32((high * jitter).rounded()))
        return (lowBp, highBp)
    }

    static func fees(family: WorldFamily, _ random: inout WorldRandom) -> Crm_Products_V1_Fees {
        var fees = Crm_Products_V1_Fees()
        func rate(_ range: ClosedRange<Int>) -> UInt32 { UInt32(random.int(range)) }
        switch family {
        case .moneyMarketFund:
            fees.managementBp = rate(15...33); fees.custodyBp = rate(5...10)
        case .bondFund:
            fees.subscriptionBp = rate(30...80); fees.redemptionBp = rate(0...15); fees.managementBp = rate(30...70); fees.custodyBp = rate(10...20)
        case .mixedFund, .equityFund:
            fees.subscriptionBp = rate(120...150); fees.redemptionBp = rate(5...50); fees.managementBp = rate(100...150); fees.custodyBp = rate(15...25)
        case .indexFund:
            fees.subscriptionBp = rate(50...120); fees.redemptionBp = rate(0...50); fees.managementBp = rate(15...50); fees.custodyBp = rate(5...10)
        case .qdiiFund:
            fees.subscriptionBp = rate(120...160); fees.redemptionBp = rate(5...50); fees.managementBp = rate(100...180); fees.custodyBp = rate(20...35)
        case .bond:
            break
        case .assetManagement:
            fees.subscriptionBp = rate(0...100); fees.managementBp = rate(50...150); fees.custodyBp = rate(5...15)
        case .structuredNote, .advisoryPackage:
            break
        }
        return fees
    }

    /// The firm's rebate in basis points of the amount sold (what compensation pays commission on).
    static func rebate(family: WorldFamily, _ random: inout WorldRandom) -> UInt32 {
        switch family {
        case .moneyMarketFund: return UInt32(random.int(0...10))
        case .bondFund: return UInt32(random.int(10...40))
        case .mixedFund, .equityFund, .indexFund: return UInt32(random.int(30...80))
        case .qdiiFund: return UInt32(random.int(40...80))
        case .bond: return UInt32(random.int(5...20))
        case .assetManagement: return UInt32(random.int(50...150))
        case .structuredNote: return UInt32(random.int(30...100))
        case .advisoryPackage: return UInt32(random.int(1_000...3_000))
        }
    }

    static func tags(family: WorldFamily, risk: Int, launchedInYear: Bool, popularity: Double, _ random: inout WorldRandom) -> [String] {
        var tags: [String]
        switch family {
        case .moneyMarketFund: tags = ["货币基金", "T+0"]
        case .bondFund: tags = ["债券基金", "固收"]
        case .mixedFund: tags = ["混合基金"]
        case .equityFund: tags = ["股票基金"]
        case .indexFund: tags = ["指数基金", random.chance(0.5) ? "ETF" : "宽基"]
        case .qdiiFund: tags = ["QDII", "海外配置"]
        case .bond: tags = ["债券", "固收"]
        case .assetManagement: tags = ["资管计划", "合格投资者"]
        case .structuredNote: tags = ["收益凭证", risk == 1 ? "保本" : "浮动收益"]
        case .advisoryPackage: tags = ["投顾服务"]
        }
        tags.append(risk <= 2 ? "稳健" : risk == 3 ? "平衡" : "进取")
        if launchedInYear { tags.append("新发") }
        if popularity > 3 { tags.append("热销") }
        return tags
    }

    /// A target-customer rule in the CRM rule language, over the profiles service's dimensions and
    /// classification schemes (checked for syntax by the products service).
    static func targetRule(family: WorldFamily, _ random: inout WorldRandom) -> String {
        switch family {
        case .mixedFund, .equityFund, .indexFund, .qdiiFund:
            return random.pick([
                "risk_tolerance >= C4 and age_years < 50",
                "trade_count_90d >= 5 and risk_tolerance >= C3",
                "most_viewed_product_type_90d = \(family.productTypeName) and not status = frozen",
                "asset_tier in (gold, platinum, diamond) and risk_tolerance >= C4",
            ])
        case .moneyMarketFund, .bondFund, .bond:
            return random.pick([
                "risk_tolerance <= C3 and cash_ratio > 0.4",
                "age_group in (mature, senior)",
                "cash >= 5000000 and trade_count_30d = 0",
            ])
        case .assetManagement, .structuredNote:
            return random.pick([
                "asset_tier in (platinum, diamond) and risk_tolerance >= C3",
                "avg_assets_90d >= 100000000 or investor_class = professional",
            ])
        case .advisoryPackage:
            return "lifecycle_stage in (active, new) and avg_assets_90d >= 30000000"
        }
    }

    /// The e-contract a customer signs before ordering.
    static func template(for product: Crm_Products_V1_Product) -> Crm_Products_V1_ContractTemplate {
        var template = Crm_Products_V1_ContractTemplate()
        template.productCode = product.productCode
        template.title = "《\(product.name)》电子合同"
        template.body = "投资者与\(firm)就\(product.name)（产品代码\(product.productCode)，风险等级R\(product.riskLevel.rawValue)，"
            + "发行人\(product.issuer)）的认购、申购事宜订立本合同。投资者确认已阅读产品说明书及本合同全部条款，"
            + "了解产品的风险收益特征，并根据自身的风险承受能力审慎决策。"
        var disclosures = [
            ("RISK-LEVEL", "本产品风险等级为R\(product.riskLevel.rawValue)，请确认与您的风险承受能力相匹配。"),
            ("PAST-PERFORMANCE", "产品过往业绩不代表其未来表现，管理人不保证本产品一定盈利。"),
        ]
        if product.riskLevel != .r1 {
            disclosures.append(("PRINCIPAL-LOSS", "本产品不保证本金安全，您可能损失部分或全部投资本金。"))
        }
        switch product.type {
        case .fundQdii: disclosures.append(("FX-RISK", "本产品投资境外市场，存在汇率风险及境外市场风险。"))
        case .assetManagement, .structuredNote: disclosures.append(("LIQUIDITY", "本产品存续期内可能无法赎回或转让，存在流动性风险。"))
        default: break
        }
        template.disclosures = disclosures.map { id, text in
            .with {
                $0.disclosureID = id
                $0.text = text
            }
        }
        return template
    }
}

extension WorldFamily {
    /// Funds (open-ended, usually without an end to their sales window).
    var isFund: Bool {
        switch self {
        case .moneyMarketFund, .bondFund, .mixedFund, .equityFund, .indexFund, .qdiiFund: return true
        default: return false
        }
    }
}

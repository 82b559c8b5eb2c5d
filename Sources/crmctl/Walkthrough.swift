import CRMProtos
import CRMReport
import CRMRPC
import CRMWorld
import Foundation

/// The walkthrough printed at the end of `crmctl demo`: what the system does with the brokerage it
/// now holds, each step one or a few RPCs whose answers are printed as aligned text.
struct Walkthrough: Sendable {
    let world: World
    let clients: DemoClients
    let settings: DemoSettings
    let model: Crm_Matching_V1_ModelSummary
    /// Runs every step; returns the state with the campaign it created recorded.
    func run(state: DemoState) async throws -> DemoState {
        var state = state
        state.matchingEndpoint = clients.matchingEndpoint.description
        print("")
        print("券商CRM walkthrough · a generated brokerage of \(Format.count(world.configuration.customers)) customers (seed \(world.configuration.seed)), "
              + "\(Format.count(world.products.count)) products, \(world.organisation.branches.count) branches, \(world.organisation.managers.count) client managers")
        let customer = try await customerView()
        let product = try await featuredProduct()
        try await targets(for: product)
        try await suitableProducts(for: customer)
        try await prohibitedSale()
        let campaign = try await CampaignStep(world: world, clients: clients, settings: settings, model: model).run(product: product)
        state.record(campaign: campaign)
        try await evaluation()
        try await StatementStep(world: world, clients: clients).run(featuredCustomer: customer.customer)
        print("")
        return state
    }

    // MARK: Presentation

    static func heading(_ number: Int, _ chinese: String, _ english: String) {
        let title = "━━ \(number) · \(chinese) · \(english) "
        print("")
        print(title + String(repeating: "━", count: max(3, 100 - DisplayWidth.of(title))))
    }

    static func line(_ text: String) {
        print("  " + text)
    }

    func branchName(_ id: String) -> String {
        world.organisation.branches.first { $0.id == id }.map { "\(id) \($0.name)" } ?? id
    }

    // MARK: 1. One customer's 360° view

    /// Rules tried in order to find a customer whose view shows most of what profiles keeps.
    static let featuredCustomerRules = [
        ("status = normal and has_margin_account = 1 and asset_tier in (gold, platinum)", "trade_count_90d"),
        ("status = normal and asset_tier in (silver, gold, platinum, diamond)", "trade_count_90d"),
        ("status = normal", "total_assets"),
        ("", ""),
    ]

    func customerView() async throws -> Crm_Profiles_V1_Customer360 {
        Self.heading(1, "客户360°视图", "One customer's 360° view (GetCustomer360)")
        var found: (String, String)?
        for (rule, order) in Self.featuredCustomerRules {
            let page = try await clients.profiles.unary(Crm_Profiles_V1_Profiles.searchCustomers, Crm_Profiles_V1_SearchCustomersRequest.with {
                $0.rule = rule
                $0.orderBy = order
                $0.descending = !order.isEmpty
                $0.page = .with { $0.pageSize = 1 }
            })
            if let first = page.customers.first {
                found = (first.customerID, rule.isEmpty ? "the first customer" : "SearchCustomers `\(rule)`, most \(order) first")
                break
            }
        }
        guard let (id, how) = found else { throw CRMCtlError("profiles holds no customers") }
        Self.line("found with \(how)")
        let view = try await clients.profiles.unary(Crm_Profiles_V1_Profiles.getCustomer360, Crm_Profiles_V1_GetCustomer360Request.with {
            $0.customerID = id
            $0.recentLimit = 5
        }).view
        let dictionary = try await clients.profiles.unary(Crm_Profiles_V1_Profiles.listDimensions, Crm_Profiles_V1_ListDimensionsRequest()).dimensions
        let types = Dictionary(dictionary.map { ($0.name, $0.type) }, uniquingKeysWith: { first, _ in first })
        let c = view.customer
        var list = KeyValueList()
        var identity = "\(c.customerID) · \(c.name) · \(ProtoNames.kind(c.kind))"
        if c.hasBirthDate { identity += " · born \(ProtoNames.date(c.birthDate))" }
        if !c.province.isEmpty { identity += " · \(c.province)" }
        list.append("客户 Customer", identity)
        list.append("状态 Status", "\(ProtoNames.status(c.status)) · opened \(ProtoNames.date(c.openDate)) · channel \(c.channel.isEmpty ? "–" : c.channel)")
        list.append("归属 Branch", "\(branchName(c.branchID)) · manager \(c.managerID.isEmpty ? "none" : c.managerID)")
        let changes = view.statusHistory.filter { $0.fromStatus != .unspecified }
        if !changes.isEmpty {
            list.append("状态历史 History", changes.suffix(3).map {
                "\(ProtoNames.status($0.fromStatus))→\(ProtoNames.status($0.toStatus)) \(ProtoNames.day($0.changedAt))"
            }.joined(separator: " · "))
        }
        if view.hasCurrentAssessment {
            let a = view.currentAssessment
            let tolerance = ProtoNames.tolerance(a.riskTolerance) + (a.lowestCategory ? " (lowest category)" : "")
            list.append("适当性 Assessment", "\(tolerance) · \(ProtoNames.investorClass(a.investorClass)) investor · horizon \(ProtoNames.horizon(a.horizon))")
            list.append("", "varieties \(a.varieties.map(ProtoNames.variety).joined(separator: ", ")) · assessed \(ProtoNames.date(a.assessedOn)), "
                        + "expires \(ProtoNames.date(a.expiresOn)) · assessment #\(a.sequence)")
        } else {
            list.append("适当性 Assessment", "never assessed")
        }
        list.append("资产 Assets", "total \(Format.money(fen: view.totalAssets.minorUnits)) · cash \(Format.money(fen: view.cash.minorUnits)) · "
                    + "\(view.positions.count) positions · \(view.products.count) financial products")
        if view.hasMargin, view.margin.hasAsOf {
            let m = view.margin
            let ratio = m.maintenanceRatioBp > 0 ? Format.percent(Double(m.maintenanceRatioBp) / 10_000, places: 0) : "nothing owed"
            list.append("两融 Margin", "collateral \(Format.money(fen: m.collateralValue.minorUnits)) · financing \(Format.money(fen: m.financingLiability.minorUnits)) · "
                        + "maintenance \(ratio)")
        }
        let classes = view.dimensions.classes
        let shownClasses = ["asset_tier", "lifecycle_stage", "trading_style", "investment_preference", "contribution_tier", "age_group"]
            .compactMap { name in classes[name].map { "\(name)=\($0)" } }
        list.append("分类 Classes", shownClasses.joined(separator: " · ") + " (\(classes.count) schemes)")
        let shownDimensions = ["avg_assets_90d", "position_ratio", "trade_count_90d", "turnover_rate_90d", "contribution_365d", "days_since_last_activity"]
            .compactMap { name -> String? in
                guard let value = view.dimensions.numbers[name], value.isFinite else { return nil }
                return "\(name) \(Self.dimension(value, type: types[name]))"
            }
        list.append("维度 Dimensions", shownDimensions.prefix(3).joined(separator: " · "))
        list.append("", shownDimensions.dropFirst(3).joined(separator: " · ") + " (\(view.dimensions.numbers.count) in all)")
        if !view.segments.isEmpty { list.append("细分 Segments", view.segments.joined(separator: ", ")) }
        print(list.render())

        var holdings = TextTable([.init("持仓 Holding"), .init("Type"), .init("Market value", .right)])
        let positions = view.positions.map { ($0.instrument, ProtoNames.instrumentType($0.instrumentType), $0.marketValue.minorUnits) }
        let products = view.products.map { ($0.productCode, $0.productType, $0.marketValue.minorUnits) }
        for holding in (positions + products).sorted(by: { $0.2 > $1.2 }).prefix(5) {
            holdings.append([holding.0, holding.1, Format.money(fen: holding.2)])
        }
        if !holdings.rows.isEmpty {
            print("")
            print(holdings.render())
        }
        var trades = TextTable([.init("最近成交 Recent trade"), .init("Side"), .init("Instrument"), .init("Type"), .init("Quantity", .right),
                                .init("Price", .right), .init("Amount", .right)])
        for trade in view.recentTrades.prefix(5) {
            trades.append([ProtoNames.day(trade.tradedAt), ProtoNames.side(trade.side), trade.instrument, ProtoNames.instrumentType(trade.instrumentType),
                           Format.count(trade.quantity), trade.price, Format.money(fen: trade.amount.minorUnits)])
        }
        print("")
        print(trades.rows.isEmpty ? "  no trades recorded" : trades.render())
        return view
    }

    /// A dimension's value as its type reads: money, ratio, days or a plain number.
    static func dimension(_ value: Double, type: Crm_Profiles_V1_DimensionType?) -> String {
        switch type {
        case .money: return Format.money(fen: Int64(value.rounded()))
        case .ratio: return Format.decimal(value, places: 2)
        case .count: return Format.count(Int64(value.rounded()))
        case .days:
            let days = Int64(value.rounded())
            return "\(Format.count(days)) day\(days == 1 ? "" : "s")"
        default: return Format.decimal(value, places: 2)
        }
    }

    // MARK: 2. A product's top target customers

    /// The most-bought product of the held-out month that is on sale today.
    func featuredProduct() async throws -> Crm_Products_V1_Product {
        for code in model.evaluation.products.map(\.productCode) {
            if let product = try? await clients.products.unary(Crm_Products_V1_Products.getProduct, Crm_Products_V1_GetProductRequest.with { $0.productCode = code }).product, product.status == .onSale {
                return product
            }
        }
        let onSale = try await clients.products.unary(Crm_Products_V1_Products.listProducts, Crm_Products_V1_ListProductsRequest.with {
            $0.statuses = [.onSale]
            $0.types = [.fundBond, .fundMixed, .fundEquity]
            $0.page = .with { $0.pageSize = 1 }
        })
        guard let product = onSale.products.first else { throw CRMCtlError("products has no fund on sale") }
        return product
    }

    static func describe(_ product: Crm_Products_V1_Product) -> String {
        "\(product.productCode) \(product.name) · \(ProtoNames.productType(product.type)) · \(ProtoNames.risk(product.riskLevel))"
    }

    /// The reasons as matching words them ("viewed bond funds 3 times in the last 7 days"), each
    /// with its part in the log-odds; a feature's name when an older service sends no words.
    static func reasons(_ reasons: [Crm_Matching_V1_ScoreReason]) -> String {
        reasons.prefix(3).map { reason in
            let words = reason.text.isEmpty ? reason.feature : reason.text
            return "\(words) \(reason.contribution >= 0 ? "+" : "")\(Format.decimal(reason.contribution, places: 2))"
        }.joined(separator: "; ")
    }

    func targets(for product: Crm_Products_V1_Product) async throws {
        Self.heading(2, "目标客户", "A product's top 10 target customers (TargetCustomers)")
        let answer = try await clients.matching.unary(Crm_Matching_V1_Matching.targetCustomers, Crm_Matching_V1_TargetCustomersRequest.with {
            $0.productCode = product.productCode
            $0.k = 10
        })
        Self.line("product \(Self.describe(product)) — the most bought of \(model.heldOutMonth)")
        Self.line("\(Format.count(answer.eligible)) customers MATCH it\(product.targetRule.isEmpty ? "" : " and meet its target rule `\(product.targetRule)`"); "
                  + "ranked by model \(answer.modelVersion) (probability of buying it in the coming month)")
        var table = TextTable([.init("#", .right), .init("Customer"), .init("Name"), .init("Score", .right),
                               .init("Why (what raised the score most, in log-odds)", maximumWidth: 72)])
        for target in answer.customers {
            let name = (try? await clients.profiles.unary(Crm_Profiles_V1_Profiles.getCustomer, Crm_Profiles_V1_GetCustomerRequest.with { $0.customerID = target.customerID }).customer.name) ?? ""
            table.append(["\(target.rank)", target.customerID, name, Format.percent(target.score), Self.reasons(target.reasons)])
        }
        print("")
        print(table.render())
    }

    // MARK: 3. A customer's suitable products

    func suitableProducts(for view: Crm_Profiles_V1_Customer360) async throws {
        Self.heading(3, "适配产品", "The products that suit one customer (RecommendProducts)")
        let id = view.customer.customerID
        let answer = try await clients.matching.unary(Crm_Matching_V1_Matching.recommendProducts, Crm_Matching_V1_RecommendProductsRequest.with {
            $0.customerID = id
            $0.limit = 100
        })
        let a = view.currentAssessment
        let profile = view.hasCurrentAssessment
            ? "\(ProtoNames.tolerance(a.riskTolerance)), \(ProtoNames.horizon(a.horizon)), \(a.varieties.map(ProtoNames.variety).joined(separator: "/"))"
            : "not assessed"
        let count = answer.products.count >= 100 ? "100 or more" : Format.count(answer.products.count)
        Self.line("\(id) \(view.customer.name) (\(profile)): \(count) products on sale MATCH and meet their target rules; the model's best 10:")
        var table = TextTable([.init("#", .right), .init("Product"), .init("Name", maximumWidth: 26), .init("Type"), .init("Risk"), .init("Score", .right)])
        for (index, product) in answer.products.prefix(10).enumerated() {
            table.append(["\(index + 1)", product.productCode, product.name, product.productType, ProtoNames.risk(product.riskLevel), Format.percent(product.score)])
        }
        print("")
        print(table.rows.isEmpty ? "  none: the customer may not buy now (status or assessment)" : table.render())
        if let first = answer.products.first {
            let decision = try await decide(id, first.productCode)
            print("")
            Self.line("DecideSuitability(\(id), \(first.productCode)) → \(ProtoNames.decision(decision.decision)) (rules \(decision.ruleVersion))")
        }
    }

    func decide(_ customer: String, _ product: String) async throws -> Crm_Matching_V1_DecideSuitabilityResponse {
        try await clients.matching.unary(Crm_Matching_V1_Matching.decideSuitability, Crm_Matching_V1_DecideSuitabilityRequest.with {
            $0.customerID = customer
            $0.productCode = product
        })
    }

    // MARK: 4. A prohibited sale

    /// A lowest-category customer (C1 who may buy R1 only), else a frozen account.
    func prohibitedCustomer() async throws -> (Crm_Profiles_V1_Customer360, String)? {
        let cautious = try await clients.profiles.unary(Crm_Profiles_V1_Profiles.searchCustomers, Crm_Profiles_V1_SearchCustomersRequest.with {
            $0.rule = "status = normal and risk_tolerance_level = 1"
            $0.page = .with { $0.pageSize = 60 }
        })
        for summary in cautious.customers {
            let view = try await view360(summary.customerID)
            if view.hasCurrentAssessment, view.currentAssessment.lowestCategory {
                return (view, "a lowest-category investor (C1, R1 products only)")
            }
        }
        let frozen = try await clients.profiles.unary(Crm_Profiles_V1_Profiles.searchCustomers, Crm_Profiles_V1_SearchCustomersRequest.with {
            $0.rule = "status = frozen"
            $0.page = .with { $0.pageSize = 1 }
        })
        if let first = frozen.customers.first {
            return (try await view360(first.customerID), "a frozen account")
        }
        return nil
    }

    func view360(_ id: String) async throws -> Crm_Profiles_V1_Customer360 {
        try await clients.profiles.unary(Crm_Profiles_V1_Profiles.getCustomer360, Crm_Profiles_V1_GetCustomer360Request.with {
            $0.customerID = id
            $0.recentLimit = 1
        }).view
    }

    /// The riskiest product on sale (R5, else R4, else R3).
    func riskyProduct() async throws -> Crm_Products_V1_Product? {
        for level in [Crm_Common_V1_RiskLevel.r5, .r4, .r3] {
            let page = try await clients.products.unary(Crm_Products_V1_Products.listProducts, Crm_Products_V1_ListProductsRequest.with {
                $0.riskLevels = [level]
                $0.statuses = [.onSale]
                $0.page = .with { $0.pageSize = 1 }
            })
            if let product = page.products.first { return product }
        }
        return nil
    }

    func prohibitedSale() async throws {
        Self.heading(4, "禁止销售", "A prohibited sale and why (DecideSuitability, then the order gate)")
        guard let (view, why) = try await prohibitedCustomer(), let product = try await riskyProduct() else {
            Self.line("no lowest-category or frozen customer, or no risky product, in this brokerage")
            return
        }
        let c = view.customer, a = view.currentAssessment
        Self.line("customer \(c.customerID) \(c.name): \(why) · \(ProtoNames.status(c.status)) · \(ProtoNames.tolerance(a.riskTolerance))"
                  + (a.lowestCategory ? " lowest category" : "") + " · horizon \(ProtoNames.horizon(a.horizon))")
        Self.line("product  \(Self.describe(product)) · horizon \(product.horizon.rawValue) · minimum \(Format.money(fen: product.minimumPurchase.minorUnits))")
        let decision = try await decide(c.customerID, product.productCode)
        print("")
        Self.line("DecideSuitability → \(ProtoNames.decision(decision.decision)) (rules \(decision.ruleVersion))")
        var reasons = TextTable([.init("Reason"), .init("Explanation", maximumWidth: 80)])
        for reason in decision.reasons { reasons.append([reason.code, reason.text]) }
        if !reasons.rows.isEmpty { print(reasons.render()) }
        // The same sale as an order: products asks matching and refuses it.
        print("")
        Self.line("the same sale as an order (SignContract, then PlaceOrder; products asks matching before accepting):")
        let outcome = await OrderPlacement(clients: clients).place(
            orderID: "demo-refused-\(c.customerID)-\(product.productCode)", customer: c.customerID, product: product
        )
        Self.line(outcome.description)
    }

    // MARK: 5b. The model beside the baselines

    /// The k of the evaluation for a brokerage of this size (the service's default, 100 and 500,
    /// suits tens of thousands of customers).
    static func evaluationK(customers: Int) -> [UInt32] {
        [UInt32(min(100, max(10, customers / 40))), UInt32(min(500, max(50, customers / 10)))]
    }

    func evaluation() async throws {
        Self.heading(6, "模型评估", "The model on the held-out month beside random and richest-first (EvaluateModel)")
        let ks = Self.evaluationK(customers: world.configuration.customers)
        let answer = try await clients.matching.unary(Crm_Matching_V1_Matching.evaluateModel, Crm_Matching_V1_EvaluateModelRequest.with {
            $0.k = ks
        }, options: .timeout(.seconds(600))).evaluation
        Self.line("model \(model.version) trained on \(model.trainingMonths.joined(separator: ", ")) (\(Format.count(model.trainingRows)) rows, "
                  + "validation AUC \(Format.decimal(model.validationAuc, places: 3))); scored on \(answer.heldOutMonth), which it never saw:")
        Self.line("the hit rate of each ranking's top k, averaged over the \(answer.products.count) most-bought products of the month")
        var table = TextTable([.init("Top k", .right), .init("Model", .right), .init("Random", .right), .init("Richest first", .right),
                               .init("Model lift", .right), .init("Buyers found (model/random/richest)", .right)])
        for (index, k) in ks.enumerated() where index < answer.model.count {
            let m = answer.model[index]
            let r = index < answer.random.count ? answer.random[index] : Crm_Matching_V1_RankingFigures()
            let w = index < answer.richest.count ? answer.richest[index] : Crm_Matching_V1_RankingFigures()
            table.append(["\(k)", Format.percent(m.precision), Format.percent(r.precision), Format.percent(w.precision), Format.times(m.lift),
                          "\(m.hits) / \(r.hits) / \(w.hits)"])
        }
        print("")
        print(table.render())
        if !model.topFeatures.isEmpty {
            print("")
            Self.line("what it learned from: " + model.topFeatures.prefix(5).map { "\($0.feature) \(Format.percent($0.gain, places: 0))" }.joined(separator: " · "))
        }
    }
}

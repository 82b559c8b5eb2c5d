import CRMProtos
import CRMReport
import CRMRPC
import CRMWorld
import Foundation

/// Gathers the head-office report's figures from the services over RPC.
struct ReportCollector: Sendable {
    let clients: DemoClients
    /// The demo's record, when there is one: its campaigns and the brokerage it generated.
    let state: DemoState?
    func collect() async throws -> ReportFigures {
        let branchFigures = try await clients.profiles.unary(Crm_Profiles_V1_Profiles.getBranchFigures, Crm_Profiles_V1_GetBranchFiguresRequest())
        let names = branchNames()
        let branches = branchFigures.branches.sorted { $0.branchID < $1.branchID }.map {
            ReportFigures.Branch(branchID: $0.branchID, name: names[$0.branchID] ?? "", customers: Int($0.customers), assetsFen: $0.totalAssets.minorUnits)
        }
        let total = Int(branchFigures.headOffice.customers)
        let distributions = try await classDistributions()
        let tierOrder = distributions.first { $0.scheme == "asset_tier" }?.classes.map(\.label) ?? []
        let products = try await clients.products.unary(Crm_Products_V1_Products.listProducts, Crm_Products_V1_ListProductsRequest.with {
            $0.page = .with { $0.pageSize = 1 }
        }).page.totalCount
        let source = state.map { "generated brokerage: \(Format.count($0.customers)) customers, seed \($0.seed) (crmctl demo)" }
            ?? "the services at profiles \(clients.profiles.configuration.endpoints.map(\.description).joined(separator: ","))"
        return ReportFigures(
            title: "券商CRM head-office report · 总部经营报告",
            generatedAt: Self.beijingNow(),
            source: source,
            totalCustomers: total,
            totalAssetsFen: branchFigures.headOffice.totalAssets.minorUnits,
            products: Int(products),
            classDistributions: distributions,
            branches: branches,
            assetTiers: try await assetTiers(order: tierOrder),
            campaigns: try await campaigns(),
            model: try await model(customers: total),
            compensation: try await compensation()
        )
    }

    /// How many months back from the current one the last settled month is looked for.
    static let monthsSearched = 36
    /// Managers on the report's chart.
    static let topManagers = 10

    /// The last month compensation settled, with its best paid managers; nil when none is settled.
    ///
    /// Compensation has no call naming its closed months, but a closed month has its statements:
    /// the months before the current one are asked in turn, newest first (usually the first asked).
    func compensation() async throws -> ReportFigures.Compensation? {
        var month = Self.beijingMonth()
        var found: String?
        for _ in 0..<Self.monthsSearched {
            month = month.advanced(by: -1)
            if try await clients.compensationMonthIsClosed(month.description) {
                found = month.description
                break
            }
        }
        guard let found else { return nil }
        let statements = try await clients.compensationStatements(month: found)
        let best = statements.sorted { ($0.totalFen, $1.managerID) > ($1.totalFen, $0.managerID) }.prefix(Self.topManagers)
        var top: [ReportFigures.ManagerPay] = []
        for statement in best {
            let name = (try? await clients.compensation.unary(Crm_Compensation_V1_Compensation.getManager, Crm_Compensation_V1_GetManagerRequest.with {
                $0.managerID = statement.managerID
            }).manager.name) ?? ""
            top.append(.init(managerID: statement.managerID, name: name, branchID: statement.branchID, grade: statement.grade,
                             netCommissionFen: statement.netCommissionFen, totalFen: statement.totalFen))
        }
        return .init(month: found, statements: statements.count, totalPayFen: statements.reduce(Int64(0)) { $0 + $1.totalFen }, topManagers: top)
    }

    /// The current month in Beijing time (the firm's business time, which decides when a month ends).
    static func beijingMonth() -> WorldMonth {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 8 * 3_600) ?? calendar.timeZone
        let parts = calendar.dateComponents([.year, .month], from: Date())
        return WorldMonth(parts.year ?? 1970, parts.month ?? 1)
    }

    /// Branch names from the generated organisation (profiles keeps branch ids only).
    func branchNames() -> [String: String] {
        guard let state else { return [:] }
        let world = World(WorldConfiguration(customers: state.customers, seed: state.seed))
        return Dictionary(world.organisation.branches.map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first })
    }

    /// Every classification scheme's distribution over the firm, classes in the scheme's order.
    func classDistributions() async throws -> [ReportFigures.ClassDistribution] {
        let schemes = try await clients.profiles.unary(Crm_Profiles_V1_Profiles.listClassificationSchemes, Crm_Profiles_V1_ListClassificationSchemesRequest()).schemes
        var result: [ReportFigures.ClassDistribution] = []
        for scheme in schemes {
            let counts = try await clients.profiles.unary(Crm_Profiles_V1_Profiles.getClassDistribution, Crm_Profiles_V1_GetClassDistributionRequest.with {
                $0.scheme = scheme.name
            }).customersByClass
            let ordered = scheme.classes + counts.keys.filter { !scheme.classes.contains($0) }.sorted()
            result.append(.init(scheme: scheme.name, description: scheme.description_p,
                                classes: ordered.map { .init($0, Int(counts[$0] ?? 0)) }))
        }
        return result
    }

    /// Customers and total assets per asset tier, from one pass over every customer's summary.
    func assetTiers(order: [String]) async throws -> [ReportFigures.Tier] {
        var customers: [String: Int] = [:], assets: [String: Int64] = [:]
        var token = ""
        repeat {
            let page = try await clients.profiles.unary(Crm_Profiles_V1_Profiles.searchCustomers, Crm_Profiles_V1_SearchCustomersRequest.with {
                $0.page = .with { $0.pageSize = 1_000; $0.pageToken = token }
            })
            for summary in page.customers {
                let tier = summary.assetTier.isEmpty ? "unclassified" : summary.assetTier
                customers[tier, default: 0] += 1
                assets[tier, default: 0] += summary.totalAssets.minorUnits
            }
            token = page.page.nextPageToken
        } while !token.isEmpty
        let tiers = order + customers.keys.filter { !order.contains($0) }.sorted()
        return tiers.map { .init(tier: $0, customers: customers[$0] ?? 0, assetsFen: assets[$0] ?? 0) }
    }

    /// The reports of the campaigns the demo recorded, from the replica holding each.
    func campaigns() async throws -> [ReportFigures.Campaign] {
        var result: [ReportFigures.Campaign] = []
        for record in state?.campaigns ?? [] {
            guard let client = clients.matchingReplicas.first(where: { $0.0.description == record.matchingEndpoint })?.1 else { continue }
            let report: Crm_Matching_V1_CampaignReport
            do {
                report = try await client.unary(Crm_Matching_V1_Matching.getCampaignReport, Crm_Matching_V1_GetCampaignReportRequest.with {
                    $0.campaignID = record.campaignID
                }).report
            } catch let error as RPCError where error.code == .notFound {
                continue
            }
            result.append(.init(
                campaignID: record.campaignID, name: report.campaign.name, productCode: report.campaign.productCode, targets: Int(report.targets),
                reached: Int(report.reached), bought: Int(report.bought), hitRate: report.hitRate, untargetedEligible: Int(report.untargetedEligible),
                untargetedBought: Int(report.untargetedBought), baselineRate: report.baselineRate, lift: report.lift
            ))
        }
        return result
    }

    /// The current model's summary and its held-out evaluation; nil before any training.
    func model(customers: Int) async throws -> ReportFigures.Model? {
        let summary: Crm_Matching_V1_ModelSummary
        do {
            summary = try await clients.matching.unary(Crm_Matching_V1_Matching.getModel, Crm_Matching_V1_GetModelRequest()).model
        } catch let error as RPCError where error.code == .notFound {
            return nil
        }
        let ks = Walkthrough.evaluationK(customers: customers)
        let evaluation = try await clients.matching.unary(Crm_Matching_V1_Matching.evaluateModel, Crm_Matching_V1_EvaluateModelRequest.with { $0.k = ks }, options: .timeout(.seconds(600))).evaluation
        let rankings = ks.indices.compactMap { index -> ReportFigures.RankingAtK? in
            guard index < evaluation.model.count, index < evaluation.random.count, index < evaluation.richest.count else { return nil }
            return .init(k: Int(ks[index]), model: evaluation.model[index].precision, random: evaluation.random[index].precision,
                         richest: evaluation.richest[index].precision, modelLift: evaluation.model[index].lift)
        }
        return .init(version: summary.version, heldOutMonth: evaluation.heldOutMonth.isEmpty ? summary.heldOutMonth : evaluation.heldOutMonth,
                     trainingMonths: summary.trainingMonths, trainingRows: Int(summary.trainingRows), validationAUC: summary.validationAuc,
                     evaluatedProducts: evaluation.products.count, rankings: rankings,
                     topFeatures: summary.topFeatures.prefix(8).map { .init($0.feature, $0.gain) })
    }

    /// Now in Beijing time, "2026-11-29 17:05 (UTC+8)".
    static func beijingNow() -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 8 * 3_600) ?? calendar.timeZone
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: Date())
        return String(format: "%04d-%02d-%02d %02d:%02d (UTC+8)", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0, parts.hour ?? 0, parts.minute ?? 0)
    }
}

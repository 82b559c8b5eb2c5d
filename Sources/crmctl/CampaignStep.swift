import CRMProtos
import CRMReport
import CRMRPC
import CRMWorld
import Foundation

/// Step 5 of the walkthrough: a campaign for the featured product, the month after it simulated
/// with the generator's own purchase law, and the campaign's report beside its baseline.
///
/// The generated year lies in the past, so a campaign created today would see no purchases. The
/// demo therefore plays the next month: every customer eligible for the product buys it with the
/// probability the world's law gives them (``World/trueProbability(of:product:month:)``, the last
/// month's), drawn from the seed so a rerun draws the same; managers call the top targets and record
/// the outcomes; buyers place real orders through products, which asks matching before accepting.
/// The report then compares the targets' hit rate with the untargeted eligible customers' rate.
struct CampaignStep: Sendable {
    let world: World
    let clients: DemoClients
    let settings: DemoSettings
    let model: Crm_Matching_V1_ModelSummary
    /// How many of the top targets the managers call.
    static let calls = 20

    func run(product: Crm_Products_V1_Product) async throws -> DemoState.CampaignRecord {
        Walkthrough.heading(5, "精准营销活动", "A campaign for the product, and its hit rate beside the baseline")
        let code = product.productCode
        let size = UInt32(min(100, max(20, world.configuration.customers / 20)))
        let campaign = try await clients.matching.unary(Crm_Matching_V1_Matching.createCampaign, Crm_Matching_V1_CreateCampaignRequest.with {
            $0.campaign = .with {
                $0.campaignID = "demo-\(settings.seed)-\(code)"
                $0.productCode = code
                $0.name = "Demo campaign · \(product.name)"
                $0.targetSize = size
            }
        }).campaign
        let targets = try await campaignTargets(campaign.campaignID)
        let eligible = try await clients.matching.serverStreaming(Crm_Matching_V1_Matching.streamTargetCustomers, Crm_Matching_V1_StreamTargetCustomersRequest.with {
            $0.productCode = code
        }).collect().map(\.customerID)
        Walkthrough.line("CreateCampaign \(campaign.campaignID) “\(campaign.name)”: the top \(campaign.targets) of \(Format.count(eligible.count)) eligible customers, "
                         + "ranked by model \(campaign.modelVersion)")

        // The month after, drawn from the world's law.
        let targetSet = Set(targets.map(\.customerID))
        let probabilities = await trueProbabilities(of: eligible, product: code)
        let buyers = Set(eligible.filter { id in
            guard let index = world.customerIndex(of: id) else { return false }
            return Self.uniform(seed: settings.seed, customer: index, product: code, salt: 1) < (probabilities[id] ?? 0)
        })
        Walkthrough.line("the month after, simulated: each eligible customer buys \(code) with the probability the generator's law gives them;")
        Walkthrough.line("managers call the top \(Self.calls) targets (RecordCampaignContact); buyers order through products, gated by matching (PlaceOrder)")

        var outcomes: [Crm_Matching_V1_ContactOutcome: Int] = [:]
        for target in targets.prefix(Self.calls) {
            let index = world.customerIndex(of: target.customerID) ?? 0
            let outcome: Crm_Matching_V1_ContactOutcome = buyers.contains(target.customerID) ? .bought
                : Self.uniform(seed: settings.seed, customer: index, product: code, salt: 2) < 0.35 ? .declined : .reached
            let manager = (try? await clients.profiles.unary(Crm_Profiles_V1_Profiles.getCustomer, Crm_Profiles_V1_GetCustomerRequest.with {
                $0.customerID = target.customerID
            }).customer.managerID) ?? ""
            _ = try await clients.matching.unary(Crm_Matching_V1_Matching.recordCampaignContact, Crm_Matching_V1_RecordCampaignContactRequest.with {
                $0.contact = .with {
                    $0.campaignID = campaign.campaignID
                    $0.customerID = target.customerID
                    $0.outcome = outcome
                    $0.managerID = manager
                }
            })
            outcomes[outcome, default: 0] += 1
        }
        let placement = OrderPlacement(clients: clients)
        var accepted = (targeted: 0, untargeted: 0)
        var refusals: [String] = []
        for buyer in buyers.sorted() {
            let outcome = await placement.place(orderID: "\(campaign.campaignID)-\(buyer)", customer: buyer, product: product)
            if outcome.isAccepted {
                if targetSet.contains(buyer) { accepted.targeted += 1 } else { accepted.untargeted += 1 }
            } else {
                refusals.append("\(buyer): \(outcome)")
            }
        }
        let contacts = [(Crm_Matching_V1_ContactOutcome.bought, "BOUGHT"), (.declined, "DECLINED"), (.reached, "REACHED")]
            .map { "\(outcomes[$0.0] ?? 0) \($0.1)" }.joined(separator: " · ")
        Walkthrough.line("contacts: \(targets.prefix(Self.calls).count) (\(contacts)) · orders accepted: \(accepted.targeted + accepted.untargeted) "
                         + "(\(accepted.targeted) by targets, \(accepted.untargeted) by untargeted customers) · refused: \(refusals.count)")
        for refusal in refusals.prefix(3) { Walkthrough.line("  refused: \(refusal)") }

        // The report, once matching has seen the orders through the products feed.
        let contactedBuyers = targets.prefix(Self.calls).filter { buyers.contains($0.customerID) }.count
        let expectedTargeted = max(contactedBuyers, accepted.targeted)
        let report = try await report(campaign.campaignID, targeted: expectedTargeted, untargeted: accepted.untargeted)
        let expectedHits = targets.reduce(0) { $0 + (probabilities[$1.customerID] ?? 0) }
        let expectedBaseline = eligible.filter { !targetSet.contains($0) }.reduce(0) { $0 + (probabilities[$1] ?? 0) }
        var table = TextTable([.init("GetCampaignReport"), .init("Customers", .right), .init("Bought", .right), .init("Rate", .right),
                               .init("Expected by the law", .right)])
        table.append(["targeted (hit rate)", Format.count(report.targets), Format.count(report.bought), Format.percent(report.hitRate),
                      Self.expected(expectedHits, of: Int(report.targets))])
        table.append(["untargeted eligible (baseline)", Format.count(report.untargetedEligible), Format.count(report.untargetedBought),
                      Format.percent(report.baselineRate), Self.expected(expectedBaseline, of: Int(report.untargetedEligible))])
        print("")
        print(table.render())
        Walkthrough.line("lift \(Format.times(report.lift)) · reached \(report.reached) · declined \(report.declined) · "
                         + "conversion of the reached \(Format.percent(report.conversion, places: 1)) · sales to targets \(Format.money(fen: report.sales.minorUnits))")
        return DemoState.CampaignRecord(campaignID: campaign.campaignID, productCode: code, matchingEndpoint: clients.matchingEndpoint.description)
    }

    static func expected(_ buyers: Double, of customers: Int) -> String {
        "\(Format.decimal(buyers, places: 1)) (\(Format.percent(customers > 0 ? buyers / Double(customers) : 0)))"
    }

    func campaignTargets(_ id: String) async throws -> [Crm_Matching_V1_CampaignTarget] {
        var targets: [Crm_Matching_V1_CampaignTarget] = []
        var token = ""
        repeat {
            let page = try await clients.matching.unary(Crm_Matching_V1_Matching.listCampaignTargets, Crm_Matching_V1_ListCampaignTargetsRequest.with {
                $0.campaignID = id
                $0.page = .with { $0.pageSize = 1_000; $0.pageToken = token }
            })
            targets += page.targets
            token = page.nextPageToken
        } while !token.isEmpty
        return targets
    }

    /// Polls the report (bounded) until it counts the purchases placed: matching learns of orders
    /// through the products feed, a moment after products accepted them. A BOUGHT contact counts
    /// its customer as a buyer at once, before the order's amount reaches the report's sales, so
    /// the report is taken only once the replica has also read products' feed to its end.
    func report(_ id: String, targeted: Int, untargeted: Int) async throws -> Crm_Matching_V1_CampaignReport {
        var report = Crm_Matching_V1_CampaignReport()
        for _ in 0..<600 {
            do {
                report = try await clients.matching.unary(Crm_Matching_V1_Matching.getCampaignReport, Crm_Matching_V1_GetCampaignReportRequest.with {
                    $0.campaignID = id
                }).report
            } catch let error as RPCError where error.code == .unavailable {
                // With matching groups, another group reads the new campaign from the campaign logs a moment later.
                try await Task.sleep(for: .milliseconds(100))
                continue
            }
            if report.bought >= targeted && report.untargetedBought >= untargeted {
                let status = try await clients.matching.unary(Crm_Matching_V1_Matching.getReplicaStatus, Crm_Matching_V1_GetReplicaStatusRequest()).status
                // Read again after the feed is known to be read: the report above may predate it.
                if try await clients.productsFeedEnds(after: status.productsSequence) {
                    return try await clients.matching.unary(Crm_Matching_V1_Matching.getCampaignReport, Crm_Matching_V1_GetCampaignReportRequest.with {
                        $0.campaignID = id
                    }).report
                }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        Console.note("matching's report counts \(report.bought + report.untargetedBought) purchases of \(targeted + untargeted) placed after 60 s; showing it as it is")
        return report
    }

    /// The world's probability that each customer buys `product` in the last generated month,
    /// computed on every core (each customer is regenerated from the seed).
    func trueProbabilities(of customers: [String], product code: String) async -> [String: Double] {
        let world = self.world
        guard let product = world.product(code: code) else { return [:] }
        let month = world.configuration.heldOutMonth
        let indices = customers.compactMap { id in world.customerIndex(of: id).map { (id, $0) } }
        let workers = max(1, ProcessInfo.processInfo.activeProcessorCount)
        return await withTaskGroup(of: [(String, Double)].self) { group in
            for worker in 0..<workers {
                group.addTask {
                    stride(from: worker, to: indices.count, by: workers).map { position in
                        let (id, index) = indices[position]
                        return (id, world.trueProbability(of: world.customer(at: index), product: product, month: month))
                    }
                }
            }
            var result: [String: Double] = [:]
            for await part in group {
                for (id, probability) in part { result[id] = probability }
            }
            return result
        }
    }

    /// A uniform draw in [0, 1) fixed by the seed, the customer, the product and a salt
    /// (SplitMix64 over the mixed inputs; FNV-1a for the product code).
    static func uniform(seed: UInt64, customer: Int, product: String, salt: UInt64) -> Double {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in product.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        var x = seed ^ (UInt64(truncatingIfNeeded: customer) &* 0x9E37_79B9_7F4A_7C15) ^ hash ^ (salt &* 0xD1B5_4A32_D192_ED03)
        x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
        x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
        x ^= x >> 31
        return Double(x >> 11) / Double(UInt64(1) << 53)
    }
}

import CRMProtos
import CRMSuitability
import CRMRPC
import CRMTestSupport
import CRMStore
import Foundation
import Testing
@testable import MatchingService

/// Campaigns: the target list fixed at creation, contacts, purchases from the orders feed, the report.
@Suite(.serialized) struct CampaignTests {
    @Test func aCampaignReportsItsHitRateBesideTheUntargetedBaseline() async throws {
        let harness = try await MatchingHarness.start()
        for index in 1...6 { try await harness.customer("C\(index)") }
        try await harness.customer("LOW", tolerance: .c1, lowest: true)
        try await harness.product("F1", risk: .r2)
        try await harness.waitUntilCaughtUp()
        try await harness.useConstantModel()
        let marketing = harness.replicas[0].client(token: "marketing")
        func create(_ campaign: Crm_Matching_V1_Campaign) async throws -> Crm_Matching_V1_Campaign {
            try await marketing.unary(Crm_Matching_V1_Matching.createCampaign, Crm_Matching_V1_CreateCampaignRequest.with { $0.campaign = campaign }).campaign
        }
        let request = Crm_Matching_V1_Campaign.with { $0.campaignID = "SPRING"; $0.productCode = "F1"; $0.name = "Spring bond push"; $0.targetSize = 4 }
        let campaign = try await create(request)
        #expect(campaign.targets == 4)
        #expect(try await create(request).createdAt == campaign.createdAt)
        var different = request
        different.targetSize = 5
        #expect(await statusOf { _ = try await create(different) }?.code == .alreadyExists)
        var unknownProduct = request
        unknownProduct.campaignID = "OTHER"
        unknownProduct.productCode = "NOPE"
        #expect(await statusOf { _ = try await create(unknownProduct) }?.fieldViolations.first?.field == "campaign.product_code")

        let page = try await marketing.unary(Crm_Matching_V1_Matching.listCampaignTargets, Crm_Matching_V1_ListCampaignTargetsRequest.with {
            $0.campaignID = "SPRING"; $0.page = .with { $0.pageSize = 3 }
        })
        #expect(page.targets.map(\.rank) == [1, 2, 3])
        let rest = try await marketing.unary(Crm_Matching_V1_Matching.listCampaignTargets, Crm_Matching_V1_ListCampaignTargetsRequest.with {
            $0.campaignID = "SPRING"; $0.page = .with { $0.pageSize = 3; $0.pageToken = page.nextPageToken }
        })
        let targets = (page.targets + rest.targets).map(\.customerID)
        #expect(targets.count == 4 && !targets.contains("LOW"))
        let untargeted = ["C1", "C2", "C3", "C4", "C5", "C6"].filter { !targets.contains($0) }

        func contact(_ customer: String, _ outcome: Crm_Matching_V1_ContactOutcome) async throws -> Bool {
            try await marketing.unary(Crm_Matching_V1_Matching.recordCampaignContact, Crm_Matching_V1_RecordCampaignContactRequest.with {
                $0.contact = .with { $0.campaignID = "SPRING"; $0.customerID = customer; $0.outcome = outcome; $0.managerID = "M1" }
            }).created
        }
        #expect(try await contact(targets[0], .reached))
        #expect(try await contact(targets[0], .reached) == false)
        #expect(try await contact(targets[1], .declined))
        #expect(await statusOf { _ = try await contact(untargeted[0], .reached) }?.fieldViolations.first?.field == "contact.customer_id")

        // Purchases arrive through the products feed: two targets and one untargeted customer buy.
        let now = currentUnixMillis()
        let orders = [targets[0], targets[2], untargeted[0]].enumerated().map { index, customer in
            Crm_Products_V1_Order.with {
                $0.orderID = "O\(index)"; $0.customerID = customer; $0.productCode = "F1"; $0.side = .subscription
                $0.amount = .with { $0.minorUnits = 200_000 }; $0.channel = .website
                $0.acceptedAt = .with { $0.unixMillis = now }; $0.suitability = .match; $0.suitabilityRuleVersion = SuitabilityRules.currentVersion
            }
        }
        _ = try await harness.products.client(token: "office").unary(Crm_Products_V1_Products.importOrders, Crm_Products_V1_ImportOrdersRequest.with {
            $0.orders = orders
        })
        try await harness.waitUntilCaughtUp()
        let report = try await marketing.unary(Crm_Matching_V1_Matching.getCampaignReport, Crm_Matching_V1_GetCampaignReportRequest.with {
            $0.campaignID = "SPRING"
        }).report
        #expect(report.targets == 4)
        #expect(report.reached == 2)
        #expect(report.declined == 1)
        #expect(report.bought == 2)
        #expect(report.hitRate == 0.5)
        #expect(report.conversion == 0.5)
        #expect(report.sales.minorUnits == 400_000)
        #expect(report.untargetedEligible == 2)
        #expect(report.untargetedBought == 1)
        #expect(report.baselineRate == 0.5)
        #expect(report.lift == 1)
        try await harness.stop()
    }
}

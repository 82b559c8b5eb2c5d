import CRMPartitions
import CRMProtos
import CRMRPC
import CRMTestSupport
import CustomerDimensions
@testable import ProfilesService
import Testing

/// The settings every profiles owner of a firm must share (docs/partitioning.md §2): their digest
/// covers exactly what changes an answer, and owners whose digests differ refuse each other's
/// forwarded calls instead of merging answers classified by different rules.
@Suite(.serialized) struct SettingsDigestTests {
    static func digest(_ settings: [String: String]) throws -> SettingsDigest {
        let own = try ProfilesSettings(settings)
        return try SettingsDigest(partitioning: own.partitioning, assessmentValidityYears: own.assessmentValidityYears,
                                  classification: ClassificationConfiguration(settings: settings))
    }

    @Test func theDigestCoversWhatChangesAnAnswerAndNothingElse() throws {
        let base = try Self.digest(["partitions.count": "8"])
        #expect(base.value.count == 16 && base.value.allSatisfy { $0.isHexDigit && !$0.isUppercase })
        // Defaults written out, and operational settings, change nothing.
        #expect(try Self.digest(["partitions.count": "8", "assessment.validity_years": "2"]) == base)
        #expect(try Self.digest(["partitions.count": "8", "lifecycle_stage.new_days": "90"]) == base)
        #expect(try Self.digest([
            "partitions.count": "8", "snapshot.page": "17", "partitions.business_day_interval_ms": "20", "partitions.owner": "profiles-3",
        ]) == base)
        // Each of P, a classification threshold and the assessment validity changes it.
        let changed = [
            try Self.digest(["partitions.count": "16"]),
            try Self.digest(["partitions.count": "8", "assessment.validity_years": "3"]),
            try Self.digest(["partitions.count": "8", "lifecycle_stage.new_days": "60"]),
            try Self.digest(["partitions.count": "8", "asset_tier.thresholds": "10000000,50000000,200000000,2000000000"]),
        ]
        #expect(Set(changed.map(\.value)).count == changed.count)
        #expect(!changed.contains(base))
    }

    @Test func ownersWithDifferentSettingsRefuseEachOthersForwardedCallsAndSaySo() async throws {
        let firm = BusinessDayGossipTests.Firm.self
        try await withService(try await firm.start(ownerSettings: [[:], ["assessment.validity_years": "3"]])) { firm in
            var maps: [Crm_Profiles_V1_GetPartitionMapResponse] = []
            for owner in firm.owners {
                maps.append(try await BusinessDayGossipTests.asOffice(owner) {
                    try await $0.unary(Crm_Profiles_V1_Profiles.getPartitionMap, Crm_Profiles_V1_GetPartitionMapRequest())
                })
            }
            #expect(maps[0].settingsDigest.count == 16 && maps[1].settingsDigest.count == 16)
            #expect(maps[0].settingsDigest != maps[1].settingsDigest)

            // A customer of profiles-1 asked through profiles-0: forwarded, and refused by profiles-1.
            let theirs = try BusinessDayGossipTests.customer(of: 1, "s")
            let refused = try #require(await statusOf {
                _ = try await BusinessDayGossipTests.asOffice(firm.owners[0]) {
                    try await $0.unary(Crm_Profiles_V1_Profiles.getCustomer360, .with { $0.customerID = theirs })
                }
            })
            #expect(refused.code == .failedPrecondition)
            #expect(refused.message.contains("settings digest \(maps[0].settingsDigest) there, \(maps[1].settingsDigest) here"), "\(refused.message)")
            // A count across both owners is refused rather than added up from different rules.
            let count = try #require(await statusOf {
                _ = try await BusinessDayGossipTests.asOffice(firm.owners[1]) {
                    try await $0.unary(Crm_Profiles_V1_Profiles.countSegment, .with { $0.rule = "cash >= 0" })
                }
            })
            #expect(count.code == .failedPrecondition)
            // Each owner's own customers are still served.
            let own = try BusinessDayGossipTests.customer(of: 0, "o")
            let ingest = firm.owners[0].client(token: "ingest")
            try await BusinessDayGossipTests.upsert(ingest, own)
            await ingest.close()
            let view = try await BusinessDayGossipTests.asOffice(firm.owners[0]) {
                try await $0.unary(Crm_Profiles_V1_Profiles.getCustomer360, .with { $0.customerID = own })
            }
            #expect(view.view.customer.customerID == own)

            // Health names the difference once the gossip has asked.
            var details: [String: String] = [:]
            try await waitUntil {
                details = try await BusinessDayGossipTests.health(firm.owners[0])
                return details["settings.profiles-1"] != "not asked yet"
            }
            #expect(details["settings.profiles-1"] == "DIFFER: \(maps[1].settingsDigest) there, \(maps[0].settingsDigest) here")
            #expect(details["settings_digest"] == maps[0].settingsDigest)
        }
    }
}

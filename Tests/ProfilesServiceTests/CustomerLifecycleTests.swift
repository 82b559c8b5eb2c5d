import CRMProtos
import CRMRPC
import CRMTestSupport
import CRMStore
@testable import CustomerDimensions
import Testing
@testable import ProfilesService

/// Statuses, their rules and history; assessments; the change feed.
@Suite struct CustomerLifecycleTests {
    typealias Status = Crm_Profiles_V1_AccountStatus

    @Test func everyStatusTransitionFollowsTheRules() {
        let all: [Status] = [.prospect, .normal, .frozen, .reportedLost, .closed]
        let allowed: Set<String> = [
            "PROSPECT>NORMAL", "PROSPECT>CLOSED",
            "NORMAL>FROZEN", "NORMAL>REPORTED_LOST", "NORMAL>CLOSED",
            "FROZEN>NORMAL", "FROZEN>CLOSED",
            "REPORTED_LOST>NORMAL", "REPORTED_LOST>CLOSED",
        ]
        for from in all {
            for to in all where from != to {
                #expect(StatusRules.isAllowed(from: from, to: to) == allowed.contains("\(from.name)>\(to.name)"), "\(from.name) -> \(to.name)")
            }
        }
        #expect(StatusRules.mayTrade(.normal))
        for status in all where status != .normal { #expect(!StatusRules.mayTrade(status)) }
    }

    @Test func forbiddenChangesAreRefusedAndAllowedOnesRecorded() async throws {
        try await withService(await ProfilesHarness.start()) { harness in
            try await harness.upsert("C1", status: .prospect)
            let change = Crm_Profiles_V1_ChangeAccountStatusRequest.self
            // Opening needs the open date.
            let noDate = await statusOf {
                _ = try await harness.ingest.unary(Crm_Profiles_V1_Profiles.changeAccountStatus, change.with { $0.customerID = "C1"; $0.newStatus = .normal })
            }
            #expect(noDate?.code == .invalidArgument)
            #expect(noDate?.fieldViolations.first?.field == "effective_date")
            let opened = try await harness.ingest.unary(Crm_Profiles_V1_Profiles.changeAccountStatus, change.with {
                $0.customerID = "C1"; $0.newStatus = .normal; $0.reason = "account opened"; $0.effectiveDate = .init(year: 2026, month: 3, day: 2)
            })
            #expect(opened.customer.status == .normal)
            #expect(opened.customer.openDate.isoString == "2026-03-02")
            #expect(opened.change.changedBy == "trading-system")

            for (to, reason) in [(Status.frozen, "court order"), (.normal, "released"), (.closed, "customer left")] {
                _ = try await harness.ingest.unary(Crm_Profiles_V1_Profiles.changeAccountStatus, change.with { $0.customerID = "C1"; $0.newStatus = to; $0.reason = reason })
            }
            // A closed account cannot be frozen, nor reopened by an upsert.
            let frozen = await statusOf {
                _ = try await harness.ingest.unary(Crm_Profiles_V1_Profiles.changeAccountStatus, change.with { $0.customerID = "C1"; $0.newStatus = .frozen })
            }
            #expect(frozen?.code == .failedPrecondition)
            let reopened = await statusOf { try await harness.upsert("C1", status: .normal) }
            #expect(reopened?.code == .failedPrecondition)

            let history = try await harness.service.database.read { db in try CustomerStore.statusHistory(db, id: "C1") }
            #expect(history.map(\.toStatus) == [.prospect, .normal, .frozen, .normal, .closed])
            #expect(history.map(\.reason) == ["created", "account opened", "court order", "released", "customer left"])
        }
    }

    @Test func reassessmentsAreAllKeptAndExpireAfterTheConfiguredValidity() async throws {
        try await withService(await ProfilesHarness.start()) { harness in
            try await harness.upsert("C1")
            func record(_ tolerance: Crm_Common_V1_RiskTolerance, year: Int32, month: Int32 = 2, day: Int32 = 29) async throws -> Crm_Profiles_V1_SuitabilityAssessment {
                try await harness.ingest.unary(Crm_Profiles_V1_Profiles.recordAssessment, Crm_Profiles_V1_RecordAssessmentRequest.with {
                    $0.customerID = "C1"
                    $0.assessment = .with {
                        $0.investorClass = .ordinary
                        $0.riskTolerance = tolerance
                        $0.assessedOn = .init(year: year, month: month, day: day)
                        $0.horizon = .oneTo3Years
                        $0.varieties = [.funds, .bonds]
                        $0.expectedReturnBp = 600
                    }
                }).assessment
            }
            let first = try await record(.c3, year: 2024)
            #expect(first.sequence == 1)
            #expect(first.expiresOn.isoString == "2026-02-28")  // two years on; no 29 February in 2026
            let second = try await record(.c4, year: 2025, month: 6, day: 30)
            #expect(second.sequence == 2)
            #expect(second.expiresOn.isoString == "2027-06-30")
            let kept = try await harness.service.database.read { db in try CustomerStore.assessments(db, id: "C1") }
            #expect(kept.map(\.riskTolerance) == [.c3, .c4])

            let bad = await statusOf {
                _ = try await harness.ingest.unary(Crm_Profiles_V1_Profiles.recordAssessment, Crm_Profiles_V1_RecordAssessmentRequest.with {
                    $0.customerID = "C1"
                    $0.assessment = .with { $0.investorClass = .ordinary; $0.riskTolerance = .c2; $0.lowestCategory = true }
                })
            }
            #expect(bad?.code == .invalidArgument)
            #expect(Set(bad?.fieldViolations.map(\.field) ?? []) == ["assessment.lowest_category", "assessment.assessed_on", "assessment.horizon", "assessment.varieties"])
        }
    }

    @Test func anAssessmentDatedAfterTodayIsRefusedAndWritesNothing() async throws {
        try await withService(await ProfilesHarness.start()) { harness in
            try await harness.upsert("C1")
            let changesBefore = try await harness.changes(after: 0).count
            // Two days ahead, so a midnight between the test's clock and the service's cannot make it today.
            let (year, month, day) = Days.civil(Days.day(ofMillis: currentUnixMillis()) + 2)
            let future = await statusOf {
                _ = try await harness.ingest.unary(Crm_Profiles_V1_Profiles.recordAssessment, Crm_Profiles_V1_RecordAssessmentRequest.with {
                    $0.customerID = "C1"
                    $0.assessment = .with {
                        $0.investorClass = .ordinary; $0.riskTolerance = .c5; $0.horizon = .over5Years; $0.varieties = [.funds]
                        $0.assessedOn = .init(year: year, month: month, day: day)
                    }
                })
            }
            #expect(future?.code == .invalidArgument)
            #expect(future?.fieldViolations.map(\.field) == ["assessment.assessed_on"])
            #expect(future?.fieldViolations.first?.description.contains("after today") == true)
            let kept = try await harness.service.database.read { db in try CustomerStore.assessments(db, id: "C1") }
            #expect(kept.isEmpty)
            #expect(try await harness.changes(after: 0).count == changesBefore)
        }
    }

    @Test func theAssessmentDateBoundaryIsTheBusinessDay() {
        let today = Days.day(year: 2026, month: 12, day: 5)
        func violations(_ day: Int32) -> [String] {
            var assessment = Crm_Profiles_V1_SuitabilityAssessment.with {
                $0.investorClass = .ordinary; $0.riskTolerance = .c3; $0.horizon = .oneTo3Years; $0.varieties = [.funds]
                $0.assessedOn = .init(year: 2026, month: 12, day: day)
            }
            return AssessmentValidation.normalise(&assessment, validityYears: 2, today: today).map(\.field)
        }
        #expect(violations(5) == [])
        #expect(violations(4) == [])
        #expect(violations(6) == ["assessment.assessed_on"])
    }

    @Test func theChangeFeedResumesExactlyWhereItLeftOffAcrossARestart() async throws {
        let harness = try await ProfilesHarness.start()
        for index in 1...5 { try await harness.upsert("C\(index)") }
        let all = try await harness.changes(after: 0)
        #expect(all.map(\.sequence) == [1, 2, 3, 4, 5])
        #expect(all.map(\.kind) == Array(repeating: .customerCreated, count: 5))
        let resumeAt = all[2].sequence
        try await harness.stop()

        // The service restarts on the same file; more changes arrive; the consumer resumes.
        try await withService(await ProfilesHarness.start(path: harness.path)) { restarted in
            try await restarted.upsert("C6")
            try await restarted.upsert("C2", name: "Renamed")
            let rest = try await restarted.changes(after: resumeAt, client: restarted.service.client(token: "feed"))
            #expect(rest.map(\.sequence) == [4, 5, 6, 7])
            #expect(rest.map(\.customerID) == ["C4", "C5", "C6", "C2"])
            #expect(rest.last?.kind == .customerUpdated)
            #expect(rest.last?.customer.name == "Renamed")
            // A manager's token may not read the feed.
            let denied = await statusOf { _ = try await restarted.changes(after: 0, client: restarted.service.client(token: "m1")) }
            #expect(denied?.code == .permissionDenied)
        }
    }

    @Test func aManagerReadsOnlyTheirOwnCustomers() async throws {
        try await withService(await ProfilesHarness.start()) { harness in
            try await harness.upsert("C1", manager: "M1")
            try await harness.upsert("C2", manager: "M2")
            let m1 = harness.service.client(token: "m1")
            let own = try await m1.unary(Crm_Profiles_V1_Profiles.getCustomer, Crm_Profiles_V1_GetCustomerRequest.with { $0.customerID = "C1" })
            #expect(own.customer.managerID == "M1")
            let other = await statusOf {
                _ = try await m1.unary(Crm_Profiles_V1_Profiles.getCustomer, Crm_Profiles_V1_GetCustomerRequest.with { $0.customerID = "C2" })
            }
            #expect(other?.code == .permissionDenied)
            // An id that does not exist looks the same to a manager as someone else's customer.
            let missing = await statusOf {
                _ = try await m1.unary(Crm_Profiles_V1_Profiles.getCustomer360, Crm_Profiles_V1_GetCustomer360Request.with { $0.customerID = "NOPE" })
            }
            #expect(missing?.code == .permissionDenied)
            #expect(missing?.message == other?.message.replacingOccurrences(of: "C2", with: "NOPE"))
            let missingForOffice = await statusOf {
                _ = try await harness.office.unary(Crm_Profiles_V1_Profiles.getCustomer, Crm_Profiles_V1_GetCustomerRequest.with { $0.customerID = "NOPE" })
            }
            #expect(missingForOffice?.code == .notFound)
            await m1.close()
        }
    }
}

import CRMProtos
import CRMRPC
import CRMTestSupport
import GRDB
import Testing
@testable import ProductsService

/// E-contracts: versioned templates, signing with every disclosure confirmed, verification.
@Suite struct ContractTests {
    @Test func templatesAreVersionedPerProduct() async throws {
        let harness = try await ProductsHarness.start()
        try await harness.upsert(ProductsHarness.product("P1"))
        let first = try await harness.putTemplate("P1")
        #expect(first.version == 1)
        // The same content again is not a new version; a change is.
        #expect(try await harness.putTemplate("P1").version == 1)
        let second = try await harness.putTemplate("P1", body: "Revised terms.", disclosures: ["D1", "D2", "D3"])
        #expect(second.version == 2)
        let old = try await harness.web.unary(Crm_Products_V1_Products.getContractTemplate, Crm_Products_V1_GetContractTemplateRequest.with {
            $0.productCode = "P1"; $0.version = 1
        }).template
        #expect(old.body == first.body)
        let unknown = await statusOf { try await harness.putTemplate("NOPE") }
        #expect(unknown?.code == .notFound)
        #expect(unknown?.fieldViolations.first?.field == "template.product_code")
        let denied = await statusOf {
            _ = try await harness.web.unary(Crm_Products_V1_Products.putContractTemplate, Crm_Products_V1_PutContractTemplateRequest.with {
                $0.template = .with { $0.productCode = "P1"; $0.title = "t"; $0.body = "b" }
            })
        }
        #expect(denied?.code == .permissionDenied)
        try await harness.stop()
    }

    @Test func signingNeedsEveryDisclosureConfirmedOnce() async throws {
        let harness = try await ProductsHarness.start()
        try await harness.upsert(ProductsHarness.product("P1"))
        try await harness.putTemplate("P1", disclosures: ["D1", "D2"])
        let missing = await statusOf { _ = try await harness.sign("C1", "P1", confirm: ["D1"]) }
        #expect(missing?.code == .invalidArgument)
        #expect(missing?.fieldViolations.map(\.description) == ["disclosure D2 is not confirmed"])
        let extra = await statusOf { _ = try await harness.sign("C1", "P1", confirm: ["D1", "D2", "D1", "D9"]) }
        #expect(extra?.fieldViolations.map(\.description) == ["D1 is confirmed twice", "D9 is not a disclosure of template version 1"])
        let noVersion = await statusOf { _ = try await harness.sign("C1", "P1", version: 4) }
        #expect(noVersion?.code == .notFound)
        #expect(noVersion?.fieldViolations.first?.field == "template_version")
        let noProduct = await statusOf { _ = try await harness.sign("C1", "NOPE") }
        #expect(noProduct?.code == .notFound)
        #expect(noProduct?.fieldViolations.first?.field == "product_code")

        let contract = try await harness.sign("C1", "P1", confirm: ["D2", "D1"], mismatchConfirmed: true)
        #expect(contract.contractID > 0)
        #expect(contract.confirmedDisclosureIds == ["D1", "D2"])
        #expect(contract.sha256 == ContractText.sha256(contract.signedText))
        #expect(contract.sha256.count == 64)
        #expect(contract.signedText.contains("[x] D2: Risk D2: you may lose money."))
        #expect(contract.signedText.contains("confirmed the purchase"))
        #expect(contract.signedText.contains("Customer: C1"))
        try await harness.stop()
    }

    @Test func aTamperedContractFailsVerification() async throws {
        let harness = try await ProductsHarness.start()
        try await harness.upsert(ProductsHarness.product("P1"))
        try await harness.putTemplate("P1")
        let contract = try await harness.sign("C1", "P1")
        let intact = try await harness.verify(contract.contractID)
        #expect(intact.valid && intact.hashMatches && intact.factsMatch)
        #expect(intact.recomputedSha256 == contract.sha256)

        // The store refuses any change to a signed contract…
        let refused = await #expect(throws: DatabaseError.self) {
            try await harness.service.database.write { db in
                try db.execute(sql: "UPDATE signed_contract SET mismatch_confirmed = 1 WHERE contract_id = ?", arguments: [contract.contractID])
            }
        }
        #expect(refused?.message?.contains("immutable") == true)
        // …so someone editing the file directly has to drop the guard first; the hash still tells.
        try await harness.service.database.write { db in
            try db.execute(sql: "DROP TRIGGER signed_contract_immutable")
            try db.execute(sql: "UPDATE signed_contract SET signed_text = replace(signed_text, 'Customer: C1', 'Customer: C2') WHERE contract_id = ?",
                           arguments: [contract.contractID])
        }
        let tampered = try await harness.verify(contract.contractID)
        #expect(!tampered.valid)
        #expect(!tampered.hashMatches)
        #expect(!tampered.factsMatch)
        #expect(tampered.storedSha256 == contract.sha256)
        #expect(tampered.recomputedSha256 != contract.sha256)

        // Rewriting the hash to match the forged text still fails: the text no longer says what the
        // stored facts (customer C1) and the template say.
        try await harness.service.database.write { db in
            let text = try String.fetchOne(db, sql: "SELECT signed_text FROM signed_contract WHERE contract_id = ?", arguments: [contract.contractID]) ?? ""
            try db.execute(sql: "UPDATE signed_contract SET sha256 = ? WHERE contract_id = ?", arguments: [ContractText.sha256(text), contract.contractID])
        }
        let rehashed = try await harness.verify(contract.contractID)
        #expect(rehashed.hashMatches)
        #expect(!rehashed.factsMatch)
        #expect(!rehashed.valid)

        let unknown = await statusOf { _ = try await harness.verify(999) }
        #expect(unknown?.code == .notFound)
        try await harness.stop()
    }
}

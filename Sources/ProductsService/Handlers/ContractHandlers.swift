import CRMPrimitives
import CRMProtos
import CRMRPC
import CRMStore

/// E-contracts: templates per product, signing, reading and verifying a signed contract.
struct ContractHandlers: Sendable {
    let products: ProductStore
    let contracts: ContractStore
    /// A client manager's workbench signs and reads only for the customers in their book.
    var access = SalesAccess(profiles: nil)

    func register(into router: inout Router) {
        router.unary(Crm_Products_V1_Products.putContractTemplate, policy: ProductsRoles.libraryWriters) { request, _ in
            try await putTemplate(request)
        }
        router.unary(Crm_Products_V1_Products.getContractTemplate, policy: ProductsRoles.libraryReaders) { request, _ in
            try await getTemplate(request)
        }
        router.unary(Crm_Products_V1_Products.signContract, policy: ProductsRoles.sellers, audit: .customers { [$0.customerID] }) { request, context in
            try await sign(request, principal: context.principal)
        }
        router.unary(Crm_Products_V1_Products.getContract, policy: ProductsRoles.salesReaders, audit: .returned { [$0.contract.customerID] }) { request, context in
            try await get(request, principal: context.principal)
        }
        router.unary(Crm_Products_V1_Products.verifyContract, policy: ProductsRoles.salesReaders, audit: .declaredByHandler) { request, context in
            try await verify(request, principal: context.principal)
        }
    }

    func putTemplate(_ request: Crm_Products_V1_PutContractTemplateRequest) async throws -> Crm_Products_V1_PutContractTemplateResponse {
        guard request.hasTemplate else { throw RPCError.invalidArgument(field: "template", "is required") }
        let violations = ContractValidation.violations(of: request.template)
        guard violations.isEmpty else { throw Refusal.invalidArguments(violations) }
        let (stored, created) = try await contracts.putTemplate(request.template)
        return .with {
            $0.template = stored
            $0.created = created
        }
    }

    func getTemplate(_ request: Crm_Products_V1_GetContractTemplateRequest) async throws -> Crm_Products_V1_GetContractTemplateResponse {
        if let problem = ProductValidation.codeProblem(request.productCode) {
            throw RPCError.invalidArgument(field: "product_code", problem)
        }
        guard let template = try await contracts.template(productCode: request.productCode, version: request.version) else {
            let which = request.version == 0 ? "no contract template" : "no contract template version \(request.version)"
            throw Refusal.refused(.notFound, field: request.version == 0 ? "product_code" : "version", "\(which) for product \(request.productCode)")
        }
        return .with { $0.template = template }
    }

    /// Renders the signed text from the template version the customer saw, hashes it, stores it.
    /// The product must exist and be neither a draft nor closed.
    func sign(_ request: Crm_Products_V1_SignContractRequest, principal: Principal?) async throws -> Crm_Products_V1_SignContractResponse {
        let violations = ContractValidation.violations(of: request)
        guard violations.isEmpty else { throw Refusal.invalidArguments(violations) }
        try await access.check(principal, customerID: request.customerID)
        guard let product = try await products.product(code: request.productCode) else {
            throw Refusal.refused(.notFound, field: "product_code", "no product \(request.productCode)")
        }
        guard product.status != .draft, product.status != .closed else {
            throw Refusal.refused(.failedPrecondition, field: "product_code", "product \(request.productCode) is \(product.status.name): nothing to sign for")
        }
        guard let template = try await contracts.template(productCode: request.productCode, version: request.templateVersion) else {
            throw Refusal.refused(.notFound, field: "template_version", "no contract template version \(request.templateVersion) for product \(request.productCode)")
        }
        let confirmed = try ContractValidation.confirmations(request.confirmedDisclosureIds, of: template)
        var contract = Crm_Products_V1_SignedContract.with {
            $0.customerID = request.customerID
            $0.productCode = request.productCode
            $0.templateVersion = template.version
            $0.channel = request.channel
            $0.confirmedDisclosureIds = confirmed
            $0.mismatchConfirmed = request.mismatchConfirmed
            $0.signedAt = .with { $0.unixMillis = currentUnixMillis() }
        }
        contract.signedText = ContractText.render(template: template, contract: contract)
        contract.sha256 = ContractText.sha256(contract.signedText)
        let stored = try await contracts.sign(contract)
        return .with { $0.contract = stored }
    }

    func get(_ request: Crm_Products_V1_GetContractRequest, principal: Principal?) async throws -> Crm_Products_V1_GetContractResponse {
        let contract = try await stored(request.contractID, principal: principal)
        return .with { $0.contract = contract }
    }

    /// Recomputes the hash of the stored text, and renders the text again from the template and the
    /// stored facts: a contract is valid when both agree with what was stored.
    func verify(_ request: Crm_Products_V1_VerifyContractRequest, principal: Principal?) async throws -> Crm_Products_V1_VerifyContractResponse {
        let contract = try await stored(request.contractID, principal: principal)
        CallAudit.current?.touched(contract.customerID)
        let recomputed = ContractText.sha256(contract.signedText)
        let template = try await contracts.template(productCode: contract.productCode, version: contract.templateVersion)
        let factsMatch = template.map { ContractText.render(template: $0, contract: contract) == contract.signedText } ?? false
        return .with {
            $0.storedSha256 = contract.sha256
            $0.recomputedSha256 = recomputed
            $0.hashMatches = recomputed == contract.sha256
            $0.factsMatch = factsMatch
            $0.valid = $0.hashMatches && factsMatch
        }
    }

    /// The stored contract, if `principal` may read it (see ``SalesAccess/checkRecord``).
    private func stored(_ id: UInt64, principal: Principal?) async throws -> Crm_Products_V1_SignedContract {
        guard id != 0 else { throw RPCError.invalidArgument(field: "contract_id", "is required") }
        let contract = try await contracts.contract(id: id)
        try await access.checkRecord(principal, owner: contract?.customerID, what: "contract \(id)", field: "contract_id")
        guard let contract else { throw Refusal.refused(.notFound, field: "contract_id", "no contract \(id)") }
        return contract
    }
}

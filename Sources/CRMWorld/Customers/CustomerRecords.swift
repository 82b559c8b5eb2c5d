import CRMProtos

/// Turns a ``CustomerSketch`` into the profiles service's request messages: the customer as first
/// recorded and as held today, the status changes and the assessments.
enum CustomerRecords {
    static func record(_ sketch: CustomerSketch, status: Crm_Profiles_V1_AccountStatus, managerID: String) -> Crm_Profiles_V1_Customer {
        var customer = Crm_Profiles_V1_Customer()
        customer.customerID = sketch.id
        customer.kind = sketch.kind
        customer.name = sketch.name
        customer.branchID = "B" + Wire.padded(sketch.branch + 1, width: 3)
        customer.managerID = managerID
        customer.channel = sketch.channel
        if status != .prospect, let open = sketch.openDay { customer.openDate = Wire.date(open) }
        customer.status = status
        customer.phone = sketch.phone
        customer.email = sketch.email
        if let birth = sketch.birthDay { customer.birthDate = Wire.date(birth) }
        customer.province = sketch.province
        customer.idDocumentType = sketch.idDocumentType
        customer.idDocumentNumber = sketch.idDocumentNumber
        return customer
    }

    /// The creation request: the first status, with the manager then in charge.
    static func creation(_ sketch: CustomerSketch, managers: Organisation) -> Crm_Profiles_V1_UpsertCustomerRequest {
        let first = sketch.timeline.created
        var request = Crm_Profiles_V1_UpsertCustomerRequest()
        request.customer = record(sketch, status: sketch.timeline.initial,
                                  managerID: sketch.manager(on: first).map { managers.managers[$0].id } ?? "")
        request.reason = sketch.timeline.segments[0].reason
        return request
    }

    /// Each later status, as a change request with its effective date and reason.
    static func statusChanges(_ sketch: CustomerSketch) -> [Crm_Profiles_V1_ChangeAccountStatusRequest] {
        sketch.timeline.segments.dropFirst().map { segment in
            var request = Crm_Profiles_V1_ChangeAccountStatusRequest()
            request.customerID = sketch.id
            request.newStatus = segment.status
            request.reason = segment.reason
            request.effectiveDate = Wire.date(segment.from)
            return request
        }
    }

    /// The recorded assessments, each complete (class, tolerance, category, both dates, horizon,
    /// varieties, expected return); the sequence is left to the service.
    static func assessments(_ sketch: CustomerSketch) -> [Crm_Profiles_V1_RecordAssessmentRequest] {
        guard let profile = sketch.profile else { return [] }
        let varieties = (1...8).filter(profile.chose(variety:)).compactMap { Crm_Profiles_V1_InvestmentVariety(rawValue: $0) }
        return sketch.assessments.map { dates in
            var request = Crm_Profiles_V1_RecordAssessmentRequest()
            request.customerID = sketch.id
            request.assessment = .with {
                $0.investorClass = profile.investorClass
                $0.riskTolerance = Crm_Common_V1_RiskTolerance(rawValue: profile.riskTolerance) ?? .c3
                $0.lowestCategory = profile.lowestCategory
                $0.assessedOn = Wire.date(dates.assessedOn)
                $0.expiresOn = Wire.date(dates.expiresOn)
                $0.horizon = Crm_Profiles_V1_InvestmentHorizon(rawValue: profile.horizon) ?? .oneTo3Years
                $0.varieties = varieties
                $0.expectedReturnBp = sketch.expectedReturnBp
            }
            return request
        }
    }

    static func assignments(_ sketch: CustomerSketch, managers: Organisation) -> [ManagerAssignment] {
        sketch.assignments.map {
            ManagerAssignment(customerID: sketch.id, managerID: managers.managers[$0.manager].id, effectiveFrom: $0.from, effectiveUntil: $0.until)
        }
    }
}

import CRMPrimitives
import CRMProtos
import CustomerDimensions

/// The rules a suitability assessment must satisfy, and its default expiry. Pure.
enum AssessmentValidation {
    /// Fills the expiry (assessed_on + validity) when absent and returns every violation.
    ///
    /// `today` is the firm's business day (Beijing): an assessment dated after it is refused, since
    /// on the day it is recorded no such assessment has been made, and a sale decided before its
    /// date would read it as in force.
    static func normalise(_ assessment: inout Crm_Profiles_V1_SuitabilityAssessment, validityYears: Int32, today: DayNumber) -> [Refusal.Field] {
        var violations: [Refusal.Field] = []
        func fail(_ field: String, _ text: String) {
            violations.append(Refusal.Field(field: "assessment.\(field)", description: text))
        }
        if assessment.investorClass != .ordinary, assessment.investorClass != .professional {
            fail("investor_class", "must be ORDINARY or PROFESSIONAL")
        }
        let tolerance = assessment.riskTolerance.rawValue
        if !(1...5).contains(tolerance) {
            fail("risk_tolerance", "must be one of C1..C5")
        }
        if assessment.lowestCategory, assessment.riskTolerance != .c1 {
            fail("lowest_category", "applies only to C1 customers")
        }
        if !assessment.hasAssessedOn || !assessment.assessedOn.isValid {
            fail("assessed_on", "must be a calendar date")
        } else if Days.day(year: assessment.assessedOn.year, month: assessment.assessedOn.month, day: assessment.assessedOn.day) > today {
            let civil = Days.civil(today)
            let todayText = String(format: "%04d-%02d-%02d", civil.year, civil.month, civil.day)
            fail("assessed_on", "\(assessment.assessedOn.isoString) is after today (\(todayText), Beijing): an assessment is recorded once it has been made")
        } else if !assessment.hasExpiresOn {
            var expiry = assessment.assessedOn
            expiry.year += validityYears
            if expiry.month == 2, expiry.day == 29, !expiry.isValid { expiry.day = 28 }
            assessment.expiresOn = expiry
        }
        if assessment.hasExpiresOn {
            if !assessment.expiresOn.isValid {
                fail("expires_on", "must be a calendar date")
            } else if assessment.hasAssessedOn, assessment.assessedOn.isValid, assessment.expiresOn.isoString <= assessment.assessedOn.isoString {
                fail("expires_on", "must be after assessed_on")
            }
        }
        if !(1...4).contains(assessment.horizon.rawValue) {
            fail("horizon", "must be one of UP_TO_1_YEAR, ONE_TO_3_YEARS, THREE_TO_5_YEARS, OVER_5_YEARS")
        }
        if assessment.varieties.isEmpty {
            fail("varieties", "must list at least one investment variety")
        }
        for (index, variety) in assessment.varieties.enumerated() where !(1...8).contains(variety.rawValue) {
            fail("varieties[\(index)]", "is not a known investment variety")
        }
        if !(-10_000...100_000).contains(assessment.expectedReturnBp) {
            fail("expected_return_bp", "must be between -10000 and 100000 basis points")
        }
        return violations
    }
}

import Testing
@testable import CRMRules

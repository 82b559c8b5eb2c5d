import CRMProtos
import CRMRules
import CustomerDimensions

/// What the rule language sees of a customer: the record's own fields, every dimension and every
/// classification scheme. Segments, searches and products' target rules are checked against it.
enum ProfileRules {
    /// The customer record's fields, with their rule names.
    static let statusValues = ["prospect", "normal", "frozen", "reported_lost", "closed"]

    static func schema(classifier: Classifier) -> RuleSchema {
        var schema = RuleSchema()
        var seen: Set<String> = []
        func add(_ name: String, _ type: FieldType) {
            guard seen.insert(name).inserted else { return }
            schema.add(name, type)
        }
        add("status", .categories(Set(statusValues)))
        add("kind", .categories(["individual", "institution"]))
        add("branch_id", .anyCategory)
        add("manager_id", .anyCategory)
        add("province", .anyCategory)
        add("channel", .anyCategory)
        for scheme in classifier.schemes {
            add(scheme.name, scheme.ruleType)
        }
        for definition in DimensionCatalog.all {
            add(definition.name, definition.ruleType)
        }
        return schema
    }

    /// The rule name of an account status.
    static func statusName(_ status: Crm_Profiles_V1_AccountStatus) -> String {
        switch status {
        case .prospect: return "prospect"
        case .normal: return "normal"
        case .frozen: return "frozen"
        case .reportedLost: return "reported_lost"
        case .closed: return "closed"
        default: return "unknown"
        }
    }
}

/// One customer as a rule reads it: the record's fields, then classes, then dimensions.
struct ProfileRecord: RuleRecord {
    let customer: Crm_Profiles_V1_Customer
    let dimensions: DimensionsView

    func number(_ field: RuleField) -> Double? {
        dimensions.numbers[field.name]
    }

    func category(_ field: RuleField) -> String? {
        categoryValue(named: field.name)
    }

    func boolean(_ field: RuleField) -> Bool? { nil }
}

/// Computes a customer's dimensions from its ledger and facts for a business date.
///
/// Pure and cheap (a few microseconds): the store calls it whenever a customer's ledger or facts
/// change and for every customer when the business date moves on. Window dimensions cover
/// `asOf − N + 1 … asOf`; point-in-time dimensions (total assets, holdings, margin) read the latest
/// snapshot received.
public enum DimensionEngine {
    public static func compute(ledger: CustomerLedger, customer: CustomerFacts, asOf: DayNumber) -> DimensionValues {
        let inputs = DimensionInputs(ledger: ledger, facts: customer, asOf: asOf)
        let numberEvaluators = DimensionCatalog.numberEvaluators
        let numbers = numberEvaluators.indices.map { slot in
            let value = numberEvaluators[slot](inputs)
            // One NaN bit pattern (0/0 has another), so equal values compare equal.
            return value.isNaN ? Double.nan : value
        }
        let categoryEvaluators = DimensionCatalog.categoryEvaluators
        let categories = categoryEvaluators.indices.map { categoryEvaluators[$0](inputs) }
        return DimensionValues(asOf: asOf, numbers: numbers, categories: categories)
    }
}

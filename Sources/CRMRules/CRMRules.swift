/// # CRMRules
///
/// The rule language in which the firm writes customer segments and products' target-customer rules,
/// e.g. `asset_tier in (gold, platinum) and position_ratio < 0.3 and not status = frozen`.
///
/// Pure Swift over plain `Sendable` values, with no I/O, so the profiles service (saved segments,
/// search) and the products service (a product's target-customer rule, stored as text and validated)
/// both use it directly:
///
/// - ``Rule`` parses and prints the language (its documentation is the language reference), and
///   ``RuleError`` says where and why a text is refused.
/// - ``RuleSchema`` names the fields a customer has and their ``FieldType``; checking a rule against it
///   catches unknown fields and type mismatches.
/// - ``CompiledRule`` is a rule resolved against a schema once, then evaluated many times: one
///   customer at a time through ``RuleRecord`` (``DictionaryRecord`` for tests and small uses), or a
///   whole population at once over ``RuleColumns`` (per-field arrays), which is what segment counts use.
public enum CRMRulesModule {}

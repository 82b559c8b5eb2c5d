/// # CRMWorld
///
/// A seeded generator of a realistic brokerage for the tests, the benchmarks, the matching
/// service's model evaluation and `crmctl demo`: branches, teams and client managers; a library of
/// about a thousand products; and customers — individuals and institutions in every account status —
/// each with a span of events exactly as the profiles service ingests them (trades, fund transfers,
/// daily positions, margin accounts and interest, service contacts, product views), their
/// suitability assessments, their managers over time, and their product orders.
///
/// The orders follow a planted, learnable law (``PurchaseLaw``) over what the profiles service
/// observes of each customer (``ObservedState``), restricted to suitable products
/// (``WorldSuitability``); ``World`` reports the true probability of every purchase, so a model's
/// predictions can be scored against the truth.
///
/// Customers are generated one at a time, each a pure function of the seed and its index
/// (``World/customer(at:)``): a loader can work in parallel, in chunks, and resume anywhere, in
/// bounded memory.
public enum CRMWorldModule {}

import CRMProtos

/// One customer's generated life: the records to create them with, their status changes and
/// assessments, their managers over time, a span of events as the profiles service ingests them,
/// their product purchases, and the law's probabilities month by month.
///
/// Loading order that the services accept: `UpsertCustomer(creation)`, the first
/// ``statusChangesBeforeEvents`` status changes (opening the account of a former prospect), every
/// assessment, the events (trades are refused unless the account is NORMAL at ingestion, and every
/// trade happened while it was), then the remaining status changes, and finally
/// `UpsertCustomer(record)` to bring the manager in charge up to date (its status is already the
/// final one by then). Orders need the product and a signed contract in the products service first.
public struct GeneratedCustomer: Sendable {
    /// The customer's index in the world (`0..<customers`).
    public let index: Int
    /// `C0000001` …: sorts in index order.
    public let id: String
    /// The customer as the profiles service holds them today (final status, current manager).
    public let record: Crm_Profiles_V1_Customer
    /// The customer as first recorded (status PROSPECT, or NORMAL with the open date).
    public let creation: Crm_Profiles_V1_UpsertCustomerRequest
    /// Every status change after creation, in order, each with its effective date and reason.
    public let statusChanges: [Crm_Profiles_V1_ChangeAccountStatusRequest]
    /// How many of ``statusChanges`` come before the events (0, or 1 for a prospect who opened).
    public let statusChangesBeforeEvents: Int
    /// The suitability assessments worth recording, oldest first (each with its dates).
    public let assessments: [Crm_Profiles_V1_RecordAssessmentRequest]
    /// The current assessment's facts; nil when never assessed.
    public let profile: SuitabilityProfile?
    /// Which client manager was in charge when; empty for customers without one.
    public let assignments: [ManagerAssignment]
    /// The span's events, per ingestion method.
    public let events: CustomerEvents
    /// Product orders (subscriptions) in the generated year, in time order.
    public let purchases: [GeneratedPurchase]
    /// Redemption orders, in time order (the behaviour law's world records them; the other does not).
    public let redemptions: [Crm_Products_V1_Order]
    /// The law's numbers for each purchase month.
    public let months: [CustomerMonth]

    /// P_f(c, m): the probability that the customer buys a product of `family` in purchase month
    /// `month` (0 when they may not buy then, or nothing of the family on sale matches them).
    public func familyPropensity(_ family: WorldFamily, month: Int) -> Double {
        months[month].propensity[family.rawValue]
    }
}

/// The law's numbers of one customer in one purchase month.
public struct CustomerMonth: Sendable {
    /// What the profiles service showed at the end of the month before.
    public let state: ObservedState
    /// Whether the customer could buy at all: a normal account all month (opened before it) and an
    /// assessment in force all month.
    public let eligible: Bool
    /// P_f by ``WorldFamily/rawValue``.
    public let propensity: [Double]
    /// W_f by family: the summed popularity of the family's products on sale that month that
    /// match the customer.
    public let matchingWeight: [Double]
    /// Under ``BehaviourLaw``: what it read and the month's noise per family (nil otherwise).
    public let behaviour: BehaviourMonth?
}

/// The behaviour law's inputs for one customer-month, from which every product's probability
/// follows (``World/trueProbability(of:product:month:)``).
public struct BehaviourMonth: Sendable {
    public let state: BehaviourState
    /// ε by family.
    public let noise: [Double]
}

/// One order a customer placed.
public struct GeneratedPurchase: Sendable {
    /// The order as the products service would hold it: id, customer, product, SUBSCRIPTION, amount
    /// ≥ the minimum purchase, channel, the manager credited, and the historical `accepted_at`
    /// (the other service-set fields left empty).
    public let order: Crm_Products_V1_Order
    /// The purchase month (0-based).
    public let month: Int
    public let family: WorldFamily
    /// Index into ``World/products``.
    public let productIndex: Int
    /// The day the order was accepted.
    public let day: WorldDay
}

/// A customer's events, one array per ingestion method, each in time order. Idempotency keys are
/// `<customer id>-<type letter><sequence or date>` and never repeat.
public struct CustomerEvents: Sendable {
    public var trades: [Crm_Profiles_V1_TradeEvent] = []
    public var fundTransfers: [Crm_Profiles_V1_FundTransferEvent] = []
    public var dailyPositions: [Crm_Profiles_V1_DailyPositionEvent] = []
    public var marginAccounts: [Crm_Profiles_V1_MarginAccountEvent] = []
    public var marginInterest: [Crm_Profiles_V1_MarginInterestEvent] = []
    public var serviceContacts: [Crm_Profiles_V1_ServiceContactEvent] = []
    public var productViews: [Crm_Profiles_V1_ProductViewEvent] = []

    /// Every event of every kind.
    public var count: Int {
        trades.count + fundTransfers.count + dailyPositions.count + marginAccounts.count + marginInterest.count
            + serviceContacts.count + productViews.count
    }
}

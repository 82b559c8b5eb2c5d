/// Everything the head-office report shows, as plain values gathered beforehand (over RPC by
/// `crmctl report`, or fixed in tests). Codable so a run's figures can be saved and rendered again.
public struct ReportFigures: Sendable, Equatable, Codable {
    /// A class, branch or tier with its number of customers.
    public struct Count: Sendable, Equatable, Codable {
        public var label: String
        public var customers: Int

        public init(_ label: String, _ customers: Int) {
            self.label = label
            self.customers = customers
        }
    }

    /// How a classification scheme divides the firm's customers, classes lowest first.
    public struct ClassDistribution: Sendable, Equatable, Codable {
        public var scheme: String
        public var description: String
        public var classes: [Count]

        public init(scheme: String, description: String, classes: [Count]) {
            self.scheme = scheme
            self.description = description
            self.classes = classes
        }
    }

    public struct Branch: Sendable, Equatable, Codable {
        public var branchID: String
        /// e.g. 上海世纪大道证券营业部; empty when unknown.
        public var name: String
        public var customers: Int
        public var assetsFen: Int64

        public init(branchID: String, name: String, customers: Int, assetsFen: Int64) {
            self.branchID = branchID
            self.name = name
            self.customers = customers
            self.assetsFen = assetsFen
        }
    }

    /// One asset tier: its customers and their total assets.
    public struct Tier: Sendable, Equatable, Codable {
        public var tier: String
        public var customers: Int
        public var assetsFen: Int64

        public init(tier: String, customers: Int, assetsFen: Int64) {
            self.tier = tier
            self.customers = customers
            self.assetsFen = assetsFen
        }
    }

    /// A campaign's outcome beside what untargeted eligible customers did.
    public struct Campaign: Sendable, Equatable, Codable {
        public var campaignID: String
        public var name: String
        public var productCode: String
        public var targets: Int
        public var reached: Int
        public var bought: Int
        public var hitRate: Double
        public var untargetedEligible: Int
        public var untargetedBought: Int
        public var baselineRate: Double
        public var lift: Double

        public init(campaignID: String, name: String, productCode: String, targets: Int, reached: Int, bought: Int, hitRate: Double,
                    untargetedEligible: Int, untargetedBought: Int, baselineRate: Double, lift: Double) {
            self.campaignID = campaignID
            self.name = name
            self.productCode = productCode
            self.targets = targets
            self.reached = reached
            self.bought = bought
            self.hitRate = hitRate
            self.untargetedEligible = untargetedEligible
            self.untargetedBought = untargetedBought
            self.baselineRate = baselineRate
            self.lift = lift
        }
    }

    /// Precision (the hit rate) of the top k of three rankings, averaged over the evaluated products.
    public struct RankingAtK: Sendable, Equatable, Codable {
        public var k: Int
        public var model: Double
        public var random: Double
        public var richest: Double
        public var modelLift: Double

        public init(k: Int, model: Double, random: Double, richest: Double, modelLift: Double) {
            self.k = k
            self.model = model
            self.random = random
            self.richest = richest
            self.modelLift = modelLift
        }
    }

    public struct Model: Sendable, Equatable, Codable {
        public var version: String
        public var heldOutMonth: String
        public var trainingMonths: [String]
        public var trainingRows: Int
        public var validationAUC: Double
        public var evaluatedProducts: Int
        public var rankings: [RankingAtK]
        /// The features with the largest share of the split gain, largest first.
        public var topFeatures: [Feature]

        public struct Feature: Sendable, Equatable, Codable {
            public var name: String
            public var gain: Double

            public init(_ name: String, _ gain: Double) {
                self.name = name
                self.gain = gain
            }
        }

        public init(version: String, heldOutMonth: String, trainingMonths: [String], trainingRows: Int, validationAUC: Double,
                    evaluatedProducts: Int, rankings: [RankingAtK], topFeatures: [Feature]) {
            self.version = version
            self.heldOutMonth = heldOutMonth
            self.trainingMonths = trainingMonths
            self.trainingRows = trainingRows
            self.validationAUC = validationAUC
            self.evaluatedProducts = evaluatedProducts
            self.rankings = rankings
            self.topFeatures = topFeatures
        }
    }

    /// One client manager's pay in a settled month.
    public struct ManagerPay: Sendable, Equatable, Codable {
        public var managerID: String
        public var name: String
        public var branchID: String
        public var grade: String
        /// The month's net commission from their customers (what the commission bands divide).
        public var netCommissionFen: Int64
        /// The statement's total: gross pay after the coefficients.
        public var totalFen: Int64

        public init(managerID: String, name: String, branchID: String, grade: String, netCommissionFen: Int64, totalFen: Int64) {
            self.managerID = managerID
            self.name = name
            self.branchID = branchID
            self.grade = grade
            self.netCommissionFen = netCommissionFen
            self.totalFen = totalFen
        }
    }

    /// The last month compensation settled: how many were paid, in all, and the best paid.
    public struct Compensation: Sendable, Equatable, Codable {
        /// "2026-10".
        public var month: String
        /// Statements of the month (every manager settled).
        public var statements: Int
        /// The sum of every statement's total.
        public var totalPayFen: Int64
        /// The best paid, highest total first (ties by manager id).
        public var topManagers: [ManagerPay]

        public init(month: String, statements: Int, totalPayFen: Int64, topManagers: [ManagerPay]) {
            self.month = month
            self.statements = statements
            self.totalPayFen = totalPayFen
            self.topManagers = topManagers
        }
    }

    /// "券商CRM head-office report".
    public var title: String
    /// When the figures were read, as text for the page (the caller formats it).
    public var generatedAt: String
    /// What the figures describe, e.g. "generated brokerage: 2,000 customers, seed 42".
    public var source: String
    public var totalCustomers: Int
    public var totalAssetsFen: Int64
    public var products: Int
    public var classDistributions: [ClassDistribution]
    public var branches: [Branch]
    public var assetTiers: [Tier]
    public var campaigns: [Campaign]
    /// Nil when no model has been trained.
    public var model: Model?
    /// Nil when compensation has settled no month.
    public var compensation: Compensation?

    public init(title: String, generatedAt: String, source: String, totalCustomers: Int, totalAssetsFen: Int64, products: Int,
                classDistributions: [ClassDistribution], branches: [Branch], assetTiers: [Tier], campaigns: [Campaign], model: Model?,
                compensation: Compensation? = nil) {
        self.title = title
        self.generatedAt = generatedAt
        self.source = source
        self.totalCustomers = totalCustomers
        self.totalAssetsFen = totalAssetsFen
        self.products = products
        self.classDistributions = classDistributions
        self.branches = branches
        self.assetTiers = assetTiers
        self.campaigns = campaigns
        self.model = model
        self.compensation = compensation
    }
}

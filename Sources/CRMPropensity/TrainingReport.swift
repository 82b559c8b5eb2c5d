/// A trained model and the summary to store beside it.
public struct TrainingResult: Sendable {
    public let model: BoostedTreesModel
    public let report: TrainingReport
}

/// What a training run produced, for a service to store beside the model and show an operator:
/// how well it fits (training and validation log-loss and AUC), how long it took, and which features
/// carry it. `Codable` so it can be stored as JSON next to the model bytes.
public struct TrainingReport: Sendable, Hashable, Codable {
    public var trainRows: Int
    /// 0 when there was no validation set.
    public var validationRows: Int
    public var featureCount: Int
    /// Boosting rounds run (including rounds early stopping later dropped).
    public var iterations: Int
    /// The round whose model was kept (the best validation round, or the last one).
    public var bestIteration: Int
    /// Trees in the kept model.
    public var treeCount: Int
    public var stoppedEarly: Bool
    /// Weighted mean log-loss of the kept model on the training rows.
    public var trainLogLoss: Double
    /// Weighted mean log-loss of the kept model on the validation rows; nil without validation.
    public var validationLogLoss: Double?
    public var trainAUC: Double
    public var validationAUC: Double?
    /// Weighted share of positive training rows.
    public var baseRate: Double
    /// Wall-clock training time.
    public var seconds: Double
    /// Features by total split gain, largest first (at most 10).
    public var topFeatures: [FeatureImportance]
    /// Training log-loss after each round, for learning curves.
    public var trainLossHistory: [Double]
    /// Validation log-loss after each round; empty without validation.
    public var validationLossHistory: [Double]

    public init(
        trainRows: Int, validationRows: Int, featureCount: Int, iterations: Int, bestIteration: Int,
        treeCount: Int, stoppedEarly: Bool, trainLogLoss: Double, validationLogLoss: Double?,
        trainAUC: Double, validationAUC: Double?, baseRate: Double, seconds: Double,
        topFeatures: [FeatureImportance], trainLossHistory: [Double], validationLossHistory: [Double]
    ) {
        self.trainRows = trainRows
        self.validationRows = validationRows
        self.featureCount = featureCount
        self.iterations = iterations
        self.bestIteration = bestIteration
        self.treeCount = treeCount
        self.stoppedEarly = stoppedEarly
        self.trainLogLoss = trainLogLoss
        self.validationLogLoss = validationLogLoss
        self.trainAUC = trainAUC
        self.validationAUC = validationAUC
        self.baseRate = baseRate
        self.seconds = seconds
        self.topFeatures = topFeatures
        self.trainLossHistory = trainLossHistory
        self.validationLossHistory = validationLossHistory
    }
}

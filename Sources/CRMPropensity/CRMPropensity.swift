// CRMPropensity: purchase-propensity models for precision marketing.
//
// The matching service trains a model that predicts whether a customer buys a product family in a
// month, ranks about a million customers with it, and explains each score by the features that
// raised it most. This module is pure Swift over plain values (Foundation only, no I/O) so it is
// tested directly:
//
// - `FeatureMatrix` holds the Float input (NaN = missing); `LabeledData` adds outcomes and weights.
// - `GradientBoostedTrees` trains a `BoostedTreesModel` (logistic loss, Newton leaves, histograms
//   over quantile bins, deterministic for a seed); `LogisticRegression.fit` is the linear baseline.
// - Both models conform to `PropensityModel`: score rows and matrices, attribute a logit to
//   features (`topContributions` names the "why"), and serialize to a versioned little-endian
//   binary format (see `ModelFormat`).
// - `RankingMetrics` measures a ranking (precision/recall/lift at K, expected precision against
//   the best ranking, AUC, log-loss), and `TrainingReport` is what a service stores beside a model.
// - Failures are one `PropensityError` with a code and a reason.

import Foundation

/// The linear baseline: L2-regularised logistic regression on standardised features.
///
/// It answers "do we need trees at all?": if the boosted trees do not beat it clearly on held-out
/// precision at K, the simpler, easier-to-explain model wins. Features are standardised (missing
/// values replaced by the training mean, i.e. a standardised 0) so one lambda penalises every
/// coefficient alike, and a coefficient times a standardised value is that feature's contribution.
///
/// Fitted by Newton's method (iteratively reweighted least squares): the objective is convex and
/// smooth, and with a few dozen features the (d+1)² Hessian is cheap, so Newton converges in a
/// handful of passes without a learning rate to tune. Each step is halved until the objective
/// decreases, which makes it robust on separable data.
public struct LogisticRegression: PropensityModel, Equatable {
    public struct Configuration: Sendable, Hashable, Codable {
        /// L2 penalty on the standardised coefficients (not the intercept), in units of the weighted
        /// mean log-loss. >= 0.
        public var lambda = 1e-3
        /// Newton steps at most. >= 1.
        public var maxIterations = 50
        /// Stop when no coefficient moves more than this in a step. > 0.
        public var tolerance = 1e-7
        /// Threads for the passes over the rows; results do not depend on it. >= 1.
        public var workers = 2

        public init() {}

        func validate() throws(PropensityError) {
            guard lambda >= 0 && lambda.isFinite else { throw PropensityError(.invalidConfiguration, "lambda \(lambda) must be finite and >= 0") }
            guard maxIterations >= 1 else { throw PropensityError(.invalidConfiguration, "maxIterations must be >= 1") }
            guard tolerance > 0 && tolerance.isFinite else { throw PropensityError(.invalidConfiguration, "tolerance must be finite and > 0") }
            guard workers >= 1 else { throw PropensityError(.invalidConfiguration, "workers must be >= 1") }
        }
    }

    public let featureNames: [String]
    /// Training means (what a missing value is replaced with).
    public let means: [Double]
    /// Training standard deviations; 1 for a constant feature.
    public let scales: [Double]
    /// One coefficient per standardised feature.
    public let coefficients: [Double]
    public let intercept: Double

    public init(featureNames: [String], means: [Double], scales: [Double], coefficients: [Double], intercept: Double) throws(PropensityError) {
        let count = featureNames.count
        guard count > 0, means.count == count, scales.count == count, coefficients.count == count else {
            throw PropensityError(.invalidInput, "a logistic model needs one mean, scale and coefficient per feature")
        }
        guard (means + coefficients + [intercept]).allSatisfy(\.isFinite), scales.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw PropensityError(.invalidInput, "logistic model parameters must be finite, scales positive")
        }
        self.featureNames = featureNames
        self.means = means
        self.scales = scales
        self.coefficients = coefficients
        self.intercept = intercept
    }

    public var contributionBias: Float { Float(intercept) }

    // MARK: Scoring

    public func logit(_ row: ArraySlice<Float>) throws(PropensityError) -> Float {
        try checkRow(row)
        var sum = intercept
        for (feature, value) in row.enumerated() where !value.isNaN {
            sum += coefficients[feature] * ((Double(value) - means[feature]) / scales[feature])
        }
        return Float(sum)
    }

    public func logits(_ matrix: FeatureMatrix, workers: Int = 1) throws(PropensityError) -> [Float] {
        try checkColumns(matrix)
        let rows = matrix.rowCount
        let columns = matrix.columnCount
        // Fold standardisation into one weight and offset per feature: logit = b' + Σ w_j x_j.
        let slopes = (0..<columns).map { coefficients[$0] / scales[$0] }
        let offsets = (0..<columns).map { coefficients[$0] * means[$0] / scales[$0] }
        var result = [Float](repeating: 0, count: rows)
        result.withUnsafeMutableBufferPointer { output in
            guard let out = output.baseAddress else { return }
            matrix.values.withUnsafeBufferPointer { values in
                guard let input = values.baseAddress else { return }
                Parallel.forEach(pieces: Parallel.chunkCount(rows: rows), workers: workers) { chunk in
                    for row in Parallel.chunkRange(chunk, rows: rows) {
                        let base = input + row * columns
                        var sum = intercept
                        for feature in 0..<columns {
                            let value = base[feature]
                            if !value.isNaN { sum += slopes[feature] * Double(value) - offsets[feature] }
                        }
                        out[row] = Float(sum)
                    }
                }
            }
        }
        return result
    }

    /// Coefficient times standardised value per feature (0 for a missing value); with the intercept
    /// as bias they sum to the logit.
    public func contributions(_ row: ArraySlice<Float>) throws(PropensityError) -> [Float] {
        try checkRow(row)
        return row.enumerated().map { feature, value in
            value.isNaN ? 0 : Float(coefficients[feature] * ((Double(value) - means[feature]) / scales[feature]))
        }
    }

    // MARK: Fitting

    /// Fits the model to weighted labelled rows.
    ///
    /// Throws `PropensityError` for an invalid configuration, or data without both classes.
    public static func fit(_ data: LabeledData, configuration: Configuration = Configuration()) throws(PropensityError) -> LogisticRegression {
        try configuration.validate()
        let classes = data.classWeights
        guard classes.positive > 0 && classes.negative > 0 else {
            throw PropensityError(.invalidInput, "fitting needs positive and negative rows with weight")
        }
        let (means, scales) = standardisation(data)
        let problem = NewtonProblem(data: data, means: means, scales: scales, lambda: configuration.lambda, workers: configuration.workers)
        var parameters = [Double](repeating: 0, count: problem.dimension)
        parameters[problem.dimension - 1] = log(classes.positive / classes.negative)
        var current = problem.evaluate(parameters, wantHessian: true)
        for _ in 0..<configuration.maxIterations {
            guard let direction = solveCholesky(current.hessian, current.gradient, dimension: problem.dimension) else { break }
            var step = 1.0
            var accepted: (parameters: [Double], evaluation: NewtonProblem.Evaluation)?
            for _ in 0..<40 {
                let candidate = zip(parameters, direction).map { $0 - step * $1 }
                let evaluation = problem.evaluate(candidate, wantHessian: false)
                if evaluation.objective <= current.objective {
                    accepted = (candidate, evaluation)
                    break
                }
                step /= 2
            }
            guard let accepted else { break }
            let largestMove = zip(parameters, accepted.parameters).map { abs($0 - $1) }.max() ?? 0
            parameters = accepted.parameters
            current = problem.evaluate(parameters, wantHessian: true)
            if largestMove < configuration.tolerance { break }
        }
        let featureCount = problem.dimension - 1
        return try LogisticRegression(
            featureNames: data.features.columnNames, means: means, scales: scales,
            coefficients: Array(parameters[0..<featureCount]), intercept: parameters[featureCount])
    }

    /// Weighted mean and standard deviation per feature over present values.
    static func standardisation(_ data: LabeledData) -> (means: [Double], scales: [Double]) {
        let columns = data.features.columnCount
        var sums = [Double](repeating: 0, count: columns)
        var squares = [Double](repeating: 0, count: columns)
        var weights = [Double](repeating: 0, count: columns)
        data.features.values.withUnsafeBufferPointer { values in
            for row in 0..<data.rowCount {
                let weight = data.weight(row)
                for feature in 0..<columns {
                    let value = Double(values[row * columns + feature])
                    if value.isNaN || !value.isFinite { continue }
                    sums[feature] += weight * value
                    squares[feature] += weight * value * value
                    weights[feature] += weight
                }
            }
        }
        var means = [Double](repeating: 0, count: columns)
        var scales = [Double](repeating: 1, count: columns)
        for feature in 0..<columns where weights[feature] > 0 {
            let mean = sums[feature] / weights[feature]
            let variance = max(squares[feature] / weights[feature] - mean * mean, 0)
            means[feature] = mean.isFinite ? mean : 0
            let deviation = variance.squareRoot()
            scales[feature] = deviation.isFinite && deviation > 1e-12 * max(abs(mean), 1) ? deviation : 1
        }
        return (means, scales)
    }

    /// Solves H x = g for a symmetric positive-definite H (row-major, dimension d) by Cholesky,
    /// adding a growing ridge when H is numerically singular; nil if even that fails.
    static func solveCholesky(_ hessian: [Double], _ gradient: [Double], dimension d: Int) -> [Double]? {
        let trace = (0..<d).reduce(0.0) { $0 + hessian[$1 * d + $1] }
        var ridge = 0.0
        for _ in 0..<8 {
            var lower = [Double](repeating: 0, count: d * d)
            var positive = true
            outer: for i in 0..<d {
                for j in 0...i {
                    var sum = hessian[i * d + j] + (i == j ? ridge : 0)
                    for k in 0..<j { sum -= lower[i * d + k] * lower[j * d + k] }
                    if i == j {
                        guard sum > 0, sum.isFinite else { positive = false; break outer }
                        lower[i * d + i] = sum.squareRoot()
                    } else {
                        lower[i * d + j] = sum / lower[j * d + j]
                    }
                }
            }
            if positive {
                var y = [Double](repeating: 0, count: d)
                for i in 0..<d {
                    var sum = gradient[i]
                    for k in 0..<i { sum -= lower[i * d + k] * y[k] }
                    y[i] = sum / lower[i * d + i]
                }
                var x = [Double](repeating: 0, count: d)
                for i in stride(from: d - 1, through: 0, by: -1) {
                    var sum = y[i]
                    for k in i + 1..<d { sum -= lower[k * d + i] * x[k] }
                    x[i] = sum / lower[i * d + i]
                }
                return x.allSatisfy(\.isFinite) ? x : nil
            }
            ridge = ridge == 0 ? max(trace / Double(d), 1e-12) * 1e-10 : ridge * 100
        }
        return nil
    }
}

/// The penalised weighted log-loss over standardised features, its gradient and Hessian. The last
/// parameter is the intercept (not penalised). Passes over the rows are split into fixed chunks whose
/// partial sums are added in chunk order, so the fit does not depend on the worker count.
private struct NewtonProblem {
    struct Evaluation {
        var objective: Double
        var gradient: [Double]
        var hessian: [Double]
    }

    let data: LabeledData
    let means: [Double]
    let scales: [Double]
    let lambda: Double
    let workers: Int

    init(data: LabeledData, means: [Double], scales: [Double], lambda: Double, workers: Int) {
        self.data = data
        self.means = means
        self.scales = scales
        self.lambda = lambda
        self.workers = workers
    }

    var dimension: Int { means.count + 1 }

    func evaluate(_ parameters: [Double], wantHessian: Bool) -> Evaluation {
        let d = dimension
        let columns = d - 1
        let rows = data.rowCount
        let chunks = Parallel.chunkCount(rows: rows)
        let hessianSize = wantHessian ? d * d : 0
        // Per chunk: [loss, weight, gradient (d), hessian upper triangle (d*d, row-major)].
        let stride = 2 + d + hessianSize
        var partials = [Double](repeating: 0, count: max(chunks, 1) * stride)
        partials.withUnsafeMutableBufferPointer { partials in
            guard let partialBase = partials.baseAddress else { return }
            data.features.values.withUnsafeBufferPointer { values in
                guard let input = values.baseAddress else { return }
                Parallel.forEach(pieces: chunks, workers: workers) { chunk in
                    let out = partialBase + chunk * stride
                    var z = [Double](repeating: 1, count: d)
                    for row in Parallel.chunkRange(chunk, rows: rows) {
                        let base = input + row * columns
                        var score = parameters[columns]
                        for feature in 0..<columns {
                            let value = base[feature]
                            z[feature] = value.isNaN ? 0 : (Double(value) - means[feature]) / scales[feature]
                            score += parameters[feature] * z[feature]
                        }
                        let weight = data.weight(row)
                        let label = data.labels[row] ? 1.0 : 0.0
                        let e = exp(-abs(score))
                        let p = score >= 0 ? 1 / (1 + e) : e / (1 + e)
                        out[0] += weight * (log1p(e) + max(score, 0) - label * score)
                        out[1] += weight
                        let residual = weight * (p - label)
                        for a in 0..<d { out[2 + a] += residual * z[a] }
                        if wantHessian {
                            let curvature = weight * p * (1 - p)
                            let hessian = out + 2 + d
                            for a in 0..<d {
                                let scaled = curvature * z[a]
                                let rowStart = hessian + a * d
                                for b in a..<d { rowStart[b] += scaled * z[b] }
                            }
                        }
                    }
                }
            }
        }
        var total = [Double](repeating: 0, count: stride)
        for chunk in 0..<chunks {
            for index in 0..<stride { total[index] += partials[chunk * stride + index] }
        }
        let weight = total[1] > 0 ? total[1] : 1
        var penalty = 0.0
        for feature in 0..<columns { penalty += parameters[feature] * parameters[feature] }
        let objective = total[0] / weight + 0.5 * lambda * penalty
        var gradient = (0..<d).map { total[2 + $0] / weight }
        for feature in 0..<columns { gradient[feature] += lambda * parameters[feature] }
        var hessian: [Double] = []
        if wantHessian {
            hessian = [Double](repeating: 0, count: d * d)
            for a in 0..<d {
                for b in a..<d {
                    let value = total[2 + d + a * d + b] / weight
                    hessian[a * d + b] = value
                    hessian[b * d + a] = value
                }
            }
            for feature in 0..<columns { hessian[feature * d + feature] += lambda }
        }
        return Evaluation(objective: objective, gradient: gradient, hessian: hessian)
    }
}

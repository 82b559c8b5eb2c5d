/// The logistic body of the `ModelFormat` container (magic "CRPL", version 1):
///
/// ```
/// UInt32 featureCount, then featureCount strings (feature names, distinct)
/// featureCount × (Double mean, Double scale (> 0), Double coefficient), all finite
/// Double intercept (finite)
/// ```
extension LogisticRegression {
    public func serialized() -> [UInt8] {
        ModelFormat.encode(magic: ModelFormat.logisticMagic) { writer in
            writer.writeCount(featureNames.count)
            for name in featureNames { writer.write(name) }
            for feature in featureNames.indices {
                writer.write(means[feature])
                writer.write(scales[feature])
                writer.write(coefficients[feature])
            }
            writer.write(intercept)
        }
    }

    /// Reads a model written by `serialized()`; throws `.malformedModel` or `.unsupportedFormat` with
    /// the reason for any bytes that are not a complete, consistent model.
    public init(serialized bytes: [UInt8]) throws(PropensityError) {
        var reader = try ModelFormat.openBody(bytes, magic: ModelFormat.logisticMagic, kind: "logistic model")
        let count = try reader.readCount(minimumEntrySize: 4 + 24, what: "feature")
        var names: [String] = []
        for index in 0..<count { names.append(try reader.readString(what: "feature name \(index)")) }
        guard Set(names).count == names.count else { throw PropensityError(.malformedModel, "feature names repeat") }
        var means: [Double] = []
        var scales: [Double] = []
        var coefficients: [Double] = []
        for _ in 0..<count {
            means.append(try reader.readDouble())
            scales.append(try reader.readDouble())
            coefficients.append(try reader.readDouble())
        }
        let intercept = try reader.readDouble()
        try reader.expectEnd(kind: "logistic model")
        do {
            try self.init(featureNames: names, means: means, scales: scales, coefficients: coefficients, intercept: intercept)
        } catch {
            throw PropensityError(.malformedModel, error.reason)
        }
    }
}

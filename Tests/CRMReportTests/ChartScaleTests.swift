import CRMReport
import Testing

@Suite struct ChartScaleTests {
    @Test(arguments: [
        (0.7, 1.0), (1.0, 1.0), (1.2, 2.0), (2.1, 2.5), (3.0, 5.0), (7.0, 10.0), (0.013, 0.02), (230.0, 250.0),
    ])
    func niceStepsAreOneTwoTwoAndAHalfOrFiveTimesAPowerOfTen(raw: Double, expected: Double) {
        #expect(abs(ChartScale.niceStep(raw) - expected) < expected * 1e-9)
    }

    @Test func theScaleCoversTheDataWithEvenTicksFromZero() {
        let scale = ChartScale(dataMaximum: 1_234, tickCount: 4)
        #expect(scale.maximum >= 1_234)
        #expect(scale.ticks.first == 0)
        #expect(scale.ticks.last == scale.maximum)
        let steps = zip(scale.ticks, scale.ticks.dropFirst()).map { $1 - $0 }
        #expect(Set(steps).count == 1)
        #expect(scale.maximum == 1_500)
    }

    @Test(arguments: [0.0, -5.0, Double.nan, Double.infinity])
    func anEmptyOrBrokenMaximumStillGivesAnAxis(maximum: Double) {
        let scale = ChartScale(dataMaximum: maximum)
        #expect(scale.maximum == 1)
        #expect(scale.ticks.count == 5)
    }

    @Test func positionsAreProportionalAndClamped() {
        let scale = ChartScale(dataMaximum: 100)
        #expect(scale.position(of: 50, length: 200) == 100)
        #expect(scale.position(of: -3, length: 200) == 0)
        #expect(scale.position(of: 1_000, length: 200) == 200)
        #expect(scale.position(of: .nan, length: 200) == 0)
    }
}

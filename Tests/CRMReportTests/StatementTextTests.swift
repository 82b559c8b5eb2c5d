import CRMReport
import Testing

@Suite struct StatementTextTests {
    let statement = ReportFixtures.statement

    @Test func aStatementThatAddsUpHasNoDiscrepancies() {
        #expect(statement.discrepancies.isEmpty, "\(statement.discrepancies)")
    }

    @Test func everyBrokenSumIsNamed() {
        var wrongTotal = statement
        wrongTotal.totalFen += 1
        #expect(wrongTotal.discrepancies.count == 1)
        #expect(wrongTotal.discrepancies.first?.contains("not the total ¥1,165.51") == true)

        var wrongBand = statement
        wrongBand.bands[1].payFen -= 100
        #expect(wrongBand.discrepancies.contains { $0.contains("the bands' pay ¥719.00 is not the commission pay ¥720.00") })

        var wrongLine = statement
        wrongLine.sources[2].payFen = 15_001
        #expect(wrongLine.discrepancies.contains { $0.contains("is not the subtotal ¥1,110.00") })

        var wrongBase = statement
        wrongBase.coefficients[1].baseFen = 111_000
        #expect(wrongBase.discrepancies.contains { $0.contains("compliance coefficient applies to ¥1,110.00, not the running total ¥1,165.50") })

        var wrongCount = statement
        wrongCount.lineCount = 165
        #expect(wrongCount.discrepancies == ["the sources hold 164 lines, the statement 165"])
    }

    @Test func theTextShowsEverySourceBandAndCoefficientToTheFen() {
        let text = StatementText.render(statement)
        let lines = text.split(separator: "\n").map(String.init)
        #expect(text.contains("M00007 王芳 · grade M3 · scheme M3 v1"))
        #expect(text.contains("212 in charge at month end · 87 with income this month"))
        #expect(text.contains("2026-10 · 164 income lines (1 adjustment)"))
        // Sources: income, rate and pay (commission's pay is in the bands).
        #expect(row(starting: "cash commission (net)", in: lines) == ["cash commission (net)", "120", "¥3,800.00", "bands", "↓"])
        #expect(row(starting: "margin interest", in: lines) == ["margin interest", "12", "¥3,000.00", "5.00%", "¥150.00"])
        #expect(row(starting: "product sales rebate", in: lines) == ["product sales rebate", "2", "¥800.00", "30.00%", "¥240.00"])
        // Bands, marginal.
        #expect(text.contains("net commission ¥4,500.00"))
        #expect(row(starting: "¥0.00 – ¥3,000.00", in: lines) == ["¥0.00 – ¥3,000.00", "¥3,000.00", "15.00%", "¥450.00"])
        #expect(row(starting: "¥3,000.00 – ¥6,000.00", in: lines) == ["¥3,000.00 – ¥6,000.00", "¥1,500.00", "18.00%", "¥270.00"])
        // The pay: bands, lines, gross, coefficients, total.
        #expect(row(starting: "commission, through the bands", in: lines)?.last == "¥720.00")
        #expect(row(starting: "interest, rebates and fees", in: lines)?.last == "¥390.00")
        #expect(row(starting: "gross (subtotal)", in: lines)?.last == "¥1,110.00")
        #expect(row(starting: "× assessment coefficient 1.05", in: lines)?.last == "+¥55.50")
        #expect(row(starting: "× compliance coefficient 1", in: lines)?.last == "¥0.00")
        #expect(row(starting: "total 应发合计", in: lines)?.last == "¥1,165.50")
    }

    @Test func amountsLineUpOnTheRight() {
        let lines = StatementText.render(statement).split(separator: "\n").map(String.init)
        let payRows = ["commission, through the bands", "interest, rebates and fees", "gross (subtotal)", "total 应发合计"]
            .compactMap { label in lines.first { $0.trimmingCharacters(in: .whitespaces).hasPrefix(label) } }
        #expect(payRows.count == 4)
        #expect(Set(payRows.map(DisplayWidth.of)).count == 1, "\(payRows)")
        #expect(lines.allSatisfy { !$0.hasSuffix(" ") })
    }

    @Test func theOpenTopBandReadsAndAbove() {
        var busy = statement
        busy.bands.append(.init(lowerFen: 600_000, upperFen: nil, rateBp: 2_200, portionFen: 0, payFen: 0))
        #expect(busy.discrepancies.isEmpty)
        let lines = StatementText.render(busy).split(separator: "\n").map(String.init)
        #expect(row(starting: "¥6,000.00 and above", in: lines) == ["¥6,000.00 and above", "¥0.00", "22.00%", "¥0.00"])
    }

    @Test func aMonthWithoutIncomeSaysSo() {
        var empty = statement
        empty.sources = []
        empty.bands = []
        empty.netCommissionFen = 0
        empty.commissionPayFen = 0
        empty.subtotalFen = 0
        empty.coefficients = [.init(kind: "assessment", coefficient: "1", baseFen: 0, amountFen: 0),
                              .init(kind: "compliance", coefficient: "1", baseFen: 0, amountFen: 0)]
        empty.totalFen = 0
        empty.lineCount = 0
        #expect(empty.discrepancies.isEmpty)
        let text = StatementText.render(empty)
        #expect(text.contains("no income this month"))
        #expect(!text.contains("佣金分档"))
    }

    /// The cells of the table row whose first cell starts with `label` (cells are separated by two
    /// or more spaces).
    func row(starting label: String, in lines: [String]) -> [String]? {
        guard let line = lines.first(where: { $0.trimmingCharacters(in: .whitespaces).hasPrefix(label) }) else { return nil }
        return line.trimmingCharacters(in: .whitespaces).components(separatedBy: "  ").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}

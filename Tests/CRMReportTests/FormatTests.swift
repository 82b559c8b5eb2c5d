import CRMReport
import Testing

@Suite struct FormatTests {
    @Test func countsHaveSeparators() {
        #expect(Format.count(0) == "0")
        #expect(Format.count(999) == "999")
        #expect(Format.count(1_000) == "1,000")
        #expect(Format.count(-1_234_567) == "-1,234,567")
        #expect(Format.count(UInt64(10_000_000)) == "10,000,000")
    }

    @Test func moneyIsYuanInTheFirmsShortForm() {
        #expect(Format.money(fen: 0) == "¥0.00")
        #expect(Format.money(fen: 123_456) == "¥1,234.56")
        #expect(Format.money(fen: 999_999) == "¥9,999.99")
        #expect(Format.money(fen: 1_000_000) == "¥1.0万")
        #expect(Format.money(fen: 45_670_000) == "¥45.7万")
        #expect(Format.money(fen: 3_000_000_000) == "¥3,000万")
        #expect(Format.money(fen: 12_345_678_901) == "¥1.23亿")
        #expect(Format.money(fen: -5) == "-¥0.05")
    }

    @Test func ratesAndLifts() {
        #expect(Format.percent(0.0734) == "7.34%")
        #expect(Format.percent(0.5, places: 0) == "50%")
        #expect(Format.percent(.nan) == "–")
        #expect(Format.decimal(-0.004, places: 2) == "0.00")
        #expect(Format.decimal(1_234.5678, places: 1) == "1,234.6")
        #expect(Format.times(6.04) == "6.0×")
        #expect(Format.times(0) == "–")
    }

    @Test func chineseTakesTwoColumns() {
        #expect(DisplayWidth.of("abc") == 3)
        #expect(DisplayWidth.of("王芳") == 4)
        #expect(DisplayWidth.of("B001 上海") == 9)
        #expect(DisplayWidth.of("¥1.23亿") == 7)
        #expect(DisplayWidth.truncate("上海世纪大道证券营业部", to: 9) == "上海世纪…")
        #expect(DisplayWidth.truncate("short", to: 9) == "short")
        #expect(DisplayWidth.pad("王", to: 4) == "王  ")
        #expect(DisplayWidth.pad("7", to: 3, right: true) == "  7")
    }

    @Test func tablesAlignByDisplayWidth() {
        var table = TextTable([.init("Name"), .init("Assets", .right)], indent: "")
        table.append(["王芳", "¥1.0万"])
        table.append(["Li Lei", "¥123.45"])
        let lines = table.render().split(separator: "\n").map(String.init)
        #expect(lines.count == 4)
        // Every line's second column ends at the same display column.
        let widths = lines.map { DisplayWidth.of($0) }
        #expect(widths[0] == widths[2] && widths[2] == widths[3])
        #expect(lines[2].hasPrefix("王芳    "))
        #expect(!lines.contains { $0.hasSuffix(" ") })
    }

    @Test func keyValueListsPadTheLabels() {
        var list = KeyValueList(indent: "")
        list.append("状态 status", "NORMAL")
        list.append("id", "C0000001")
        #expect(list.render() == "状态 status  NORMAL\nid           C0000001")
    }
}

@Suite struct ProgressLineTests {
    @Test func showsTheShareTheRateAndTheTimeLeft() {
        let line = ProgressLine.render(done: 1_000, total: 2_000, doneThisRun: 500, events: 100_000, elapsed: 10, barWidth: 10)
        #expect(line == "[█████░░░░░]  50% 1,000/2,000 customers · 10,000 events/s · 0:20 left")
    }

    @Test func beforeAnythingLoadedThereIsNoEstimate() {
        let line = ProgressLine.render(done: 0, total: 2_000, doneThisRun: 0, events: 0, elapsed: 0, barWidth: 4)
        #expect(line == "[░░░░]   0% 0/2,000 customers · estimating time left…")
    }

    @Test func finishedSaysHowLongItTook() {
        let line = ProgressLine.render(done: 2_000, total: 2_000, doneThisRun: 2_000, events: 50_000, elapsed: 125, barWidth: 4)
        #expect(line.hasPrefix("[████] 100% 2,000/2,000 customers"))
        #expect(line.hasSuffix("done in 2:05"))
    }

    @Test func aTypicalLineFitsAnEightyColumnTerminal() {
        let line = ProgressLine.render(done: 1_960, total: 2_000, doneThisRun: 1_960, events: 170_000, elapsed: 97)
        #expect(DisplayWidth.of(line) < 80, "\(DisplayWidth.of(line)): \(line)")
    }

    @Test func durations() {
        #expect(ProgressLine.duration(0) == "0:00")
        #expect(ProgressLine.duration(59.6) == "1:00")
        #expect(ProgressLine.duration(3_725) == "1:02:05")
        #expect(ProgressLine.duration(.infinity) == "–")
    }
}

@Suite struct ExactMoneyTests {
    @Test func yuanShowsEveryFen() {
        #expect(Format.yuan(fen: 0) == "¥0.00")
        #expect(Format.yuan(fen: 5) == "¥0.05")
        #expect(Format.yuan(fen: -5) == "-¥0.05")
        #expect(Format.yuan(fen: 123_456_789) == "¥1,234,567.89")
        #expect(Format.yuan(fen: 1_000_000_000_000) == "¥10,000,000,000.00")
        #expect(Format.yuan(fen: Int64.min) == "-¥92,233,720,368,547,758.08")
    }

    @Test func basisPointsArePercentsWithTwoDecimals() {
        #expect(Format.basisPoints(1_500) == "15.00%")
        #expect(Format.basisPoints(5) == "0.05%")
        #expect(Format.basisPoints(10_000) == "100.00%")
        #expect(Format.basisPoints(-250) == "-2.50%")
    }
}

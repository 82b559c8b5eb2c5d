import CRMReport
import Testing

@Suite struct ChartTests {
    let bars = HorizontalBarChart(id: "branch customers", title: "Customers <per> branch", bars: [
        .init("B001 上海世纪大道证券营业部", 900, "900"), .init("B002", 450, "450"), .init("B003", 0, "0"),
    ])

    @Test func barLengthsAreProportionalToTheValues() {
        let lengths = bars.barLengths
        #expect(lengths.count == 3)
        #expect(abs(lengths[1] * 2 - lengths[0]) < 0.001)
        #expect(lengths[2] == 0)
        #expect(lengths.allSatisfy { $0 >= 0 && $0 <= bars.width })
    }

    @Test func theSVGHasItsTitleOneBarPerItemAndEscapedText() {
        let svg = bars.svg()
        #expect(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""))
        #expect(svg.hasSuffix("</svg>"))
        #expect(svg.contains("id=\"branch-customers\""))
        #expect(svg.contains("<title id=\"branch-customers-title\">Customers &lt;per&gt; branch</title>"))
        #expect(occurrences(of: "<rect class=\"bar\"", in: svg) == 3)
        #expect(svg.contains("上海"))
        #expect(!svg.contains("NaN") && !svg.contains("inf"))
    }

    @Test func anEmptyChartSaysSo() {
        let svg = HorizontalBarChart(id: "x", title: "Nothing", bars: []).svg()
        #expect(svg.contains("no data"))
        #expect(occurrences(of: "<rect class=\"bar\"", in: svg) == 0)
        let grouped = GroupedBarChart(id: "y", title: "Nothing", series: [.init("a", color: "#000")], groups: []).svg()
        #expect(grouped.contains("no data"))
    }

    @Test func groupedBarsSitSideBySideWithinTheirGroups() {
        let chart = GroupedBarChart(id: "model", title: "Hit rate", series: [
            .init("model", color: "#2f6db5"), .init("random", color: "#8c8c8c"), .init("richest", color: "#e08a2e"),
        ], groups: [.init("top 50", [0.08, 0.01, 0.02]), .init("top 200", [0.04, 0.01, 0.015])])
        let placements = chart.placements
        #expect(placements.count == 6)
        // Within a group, series left to right without overlap; groups left to right.
        for group in 0..<2 {
            let row = placements.filter { $0.group == group }.sorted { $0.series < $1.series }
            #expect(zip(row, row.dropFirst()).allSatisfy { $0.x + $0.width <= $1.x + 0.001 })
        }
        let firstEnd = placements.filter { $0.group == 0 }.map { $0.x + $0.width }.max() ?? 0
        let secondStart = placements.filter { $0.group == 1 }.map(\.x).min() ?? 0
        #expect(firstEnd <= secondStart)
        // Heights in proportion to the values: 0.08 is twice 0.04.
        let tallest = placements.first { $0.group == 0 && $0.series == 0 }?.height ?? 0
        let half = placements.first { $0.group == 1 && $0.series == 0 }?.height ?? 0
        #expect(abs(tallest - 2 * half) < 0.001)
        let svg = chart.svg()
        #expect(occurrences(of: "<rect class=\"bar\"", in: svg) == 6)
        #expect(svg.contains(">model</text>") && svg.contains(">richest</text>"))
        #expect(svg.contains("8.0%"))
    }

    @Test func markupEscapesAndNumbersAreCompact() {
        #expect(Markup.escape("a<b & \"c\" 'd'") == "a&lt;b &amp; &quot;c&quot; &#39;d&#39;")
        #expect(Markup.number(12) == "12")
        #expect(Markup.number(12.34) == "12.3")
        #expect(Markup.number(-0.5) == "-0.5")
        #expect(Markup.number(.nan) == "0")
        #expect(Markup.identifier("class-asset tier/1") == "class-asset-tier-1")
    }

    @Test func axisLabelsFollowTheValueKind() {
        #expect(ValueKind.percent.tickLabel(0.05) == "5%")
        #expect(ValueKind.percent.tickLabel(0.025) == "2.5%")
        #expect(ValueKind.count.tickLabel(1_500) == "1,500")
        #expect(ValueKind.money.tickLabel(2_000_000_000) == "¥2,000万")
        #expect(ValueKind.money.tickLabel(0) == "0")
        #expect(ValueKind.percent.tickLabel(0.30000000000000004) == "30%")
    }
}

func occurrences(of needle: String, in text: String) -> Int {
    text.components(separatedBy: needle).count - 1
}

import Foundation

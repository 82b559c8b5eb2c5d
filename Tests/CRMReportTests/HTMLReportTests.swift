import CRMReport
import Foundation
import Testing

@Suite struct HTMLReportTests {
    @Test func thePageHoldsEveryChartAndFetchesNothing() {
        let html = HTMLReport.render(ReportFixtures.figures)
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        for id in HTMLReport.chartIDs(ReportFixtures.figures) {
            #expect(html.contains("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" id=\"\(id)\""), "chart \(id)")
        }
        #expect(HTMLReport.chartIDs(ReportFixtures.figures).count == 8 + ReportFixtures.figures.classDistributions.count)
        #expect(HTMLReport.chartIDs(ReportFixtures.figures).last == "top-managers")
        // Self-contained: no scripts, links, images, frames or CSS urls; the only URL is the SVG namespace.
        for forbidden in ["<script", "<link", "<img", "<iframe", "url(", "@import", "src="] {
            #expect(!html.contains(forbidden), "the page contains \(forbidden)")
        }
        let urls = html.components(separatedBy: "http").dropFirst().map { String($0.prefix(24)) }
        #expect(urls.allSatisfy { $0.hasPrefix("://www.w3.org/2000/svg") }, "\(urls)")
    }

    @Test func thePageShowsTheFigures() {
        let html = HTMLReport.render(ReportFixtures.figures)
        #expect(html.contains("上海世纪大道证券营业部"))
        #expect(html.contains("¥1,234.57万") == false)
        #expect(html.contains(Format.money(fen: ReportFixtures.figures.totalAssetsFen)))
        #expect(html.contains("9.00%") && html.contains("1.50%") && html.contains("6.0×"))
        #expect(!html.contains("not loaded in this demo"))
    }

    @Test func theTopManagersChartHasOneBarPerManagerInPayOrder() throws {
        let html = HTMLReport.render(ReportFixtures.figures)
        let compensation = try #require(ReportFixtures.figures.compensation)
        let chart = try #require(svgElement(id: "top-managers", in: html))
        #expect(chart.contains(">Top 4 client managers by pay, 2026-10</title>"))
        #expect(occurrences(of: "<rect class=\"bar\"", in: chart) == compensation.topManagers.count)
        // Each bar is titled with its manager and pay, in the figures' order (highest first).
        var searchFrom = chart.startIndex
        for manager in compensation.topManagers {
            let title = "<title>\(manager.managerID) \(manager.name) · \(manager.branchID): \(Format.money(fen: manager.totalFen))</title></rect>"
            let found = try #require(chart.range(of: title, range: searchFrom..<chart.endIndex), "no bar \(title) after the previous one")
            searchFrom = found.upperBound
        }
        // The table gives each manager's pay to the fen, and the month's total.
        #expect(html.contains("<td class=\"num\">¥12,345.67</td>"))
        #expect(html.contains("<td class=\"num\">¥45,123.45</td>"))
        #expect(html.contains("¥2,345,678.91 paid in all"))
        #expect(html.contains("12 statements"))
    }

    @Test func withoutASettledMonthThePageSaysSoAndDrawsNoManagerChart() {
        var figures = ReportFixtures.figures
        figures.compensation = nil
        let html = HTMLReport.render(figures)
        #expect(html.contains("No month settled yet"))
        #expect(!html.contains("id=\"top-managers\""))
        #expect(!HTMLReport.chartIDs(figures).contains("top-managers"))
    }

    @Test func figuresWrittenBeforeCompensationStillRead() throws {
        // `--figures` files of earlier reports have no compensation key.
        let encoder = JSONEncoder()
        var figures = ReportFixtures.figures
        figures.compensation = nil
        let data = try encoder.encode(figures)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["compensation"] == nil)
        #expect(try JSONDecoder().decode(ReportFigures.self, from: data) == figures)
        let withPay = try JSONDecoder().decode(ReportFigures.self, from: encoder.encode(ReportFixtures.figures))
        #expect(withPay == ReportFixtures.figures)
    }

    @Test func withoutAModelOrCampaignsThePageExplainsWhy() {
        var figures = ReportFixtures.figures
        figures.model = nil
        figures.campaigns = []
        let html = HTMLReport.render(figures)
        #expect(html.contains("No model trained yet"))
        #expect(html.contains("No campaigns yet"))
        #expect(!html.contains("id=\"model-precision\""))
    }
}

/// The `<svg …>…</svg>` element with this id in a page, or nil.
func svgElement(id: String, in page: String) -> String? {
    guard let open = page.range(of: "class=\"chart\" id=\"\(id)\""),
          let start = page.range(of: "<svg", options: .backwards, range: page.startIndex..<open.lowerBound),
          let end = page.range(of: "</svg>", range: open.upperBound..<page.endIndex) else { return nil }
    return String(page[start.lowerBound..<end.upperBound])
}

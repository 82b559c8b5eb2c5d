import CRMReport
import Testing

@Suite struct HTMLReportTests {
    @Test func thePageHoldsEveryChartAndFetchesNothing() {
        let html = HTMLReport.render(ReportFixtures.figures)
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        for id in HTMLReport.chartIDs(ReportFixtures.figures) {
            #expect(html.contains("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" id=\"\(id)\""), "chart \(id)")
        }
        #expect(HTMLReport.chartIDs(ReportFixtures.figures).count == 7 + ReportFixtures.figures.classDistributions.count)
        // Self-contained: no scripts, links, images, frames or CSS urls; the only URL is the SVG namespace.
        for forbidden in ["<script", "<link", "<img", "<iframe", "url(", "@import", "src="] {
            #expect(!html.contains(forbidden), "the page contains \(forbidden)")
        }
        let urls = html.components(separatedBy: "http").dropFirst().map { String($0.prefix(24)) }
        #expect(urls.allSatisfy { $0.hasPrefix("://www.w3.org/2000/svg") }, "\(urls)")
    }

    @Test func thePageShowsTheFiguresAndTheCompensationPlaceholder() {
        let html = HTMLReport.render(ReportFixtures.figures)
        #expect(html.contains("上海世纪大道证券营业部"))
        #expect(html.contains("¥1,234.57万") == false)
        #expect(html.contains(Format.money(fen: ReportFixtures.figures.totalAssetsFen)))
        #expect(html.contains("9.00%") && html.contains("1.50%") && html.contains("6.0×"))
        #expect(html.contains("id=\"top-managers-placeholder\""))
        #expect(html.contains(CompensationPlaceholders.notLoaded))
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

import CRMReport
import Foundation
import Testing

/// The head-office report, rendered from fixed figures, loads in headless Chromium: the screenshot
/// has the window's size and is not blank where the charts are, and the DOM Chromium built holds every
/// chart with its title. Chromium is part of the project's setup (scripts/setup.sh installs Debian's
/// `chromium`), so a machine without it fails this test rather than skipping it.
@Suite(.serialized) struct ChromiumRenderTests {
    static let width = 1_200, height = 2_000

    func chromium() throws -> Chromium {
        guard let chromium = Chromium.find() else {
            Issue.record("chromium is not installed: run scripts/setup.sh (it installs Debian's chromium package), or set $CHROMIUM to its path")
            throw Chromium.Failure("chromium is not installed")
        }
        return chromium
    }

    func workDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("crm-report-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    @Test func theReportRendersWithItsChartsInHeadlessChromium() throws {
        let chromium = try chromium()
        let directory = try workDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let page = directory.appendingPathComponent("report.html")
        try HTMLReport.render(ReportFixtures.figures).write(to: page, atomically: true, encoding: .utf8)
        let blankPage = directory.appendingPathComponent("blank.html")
        try "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body></body></html>".write(to: blankPage, atomically: true, encoding: .utf8)

        // The screenshot: the window's size, and far from blank where the first charts are.
        let shot = directory.appendingPathComponent("report.png")
        try chromium.screenshot(page, to: shot, width: Self.width, height: Self.height, workDir: directory)
        let bytes = try [UInt8](Data(contentsOf: shot))
        let size = try PNGImage.size(of: bytes)
        #expect(size.width == Self.width && size.height == Self.height)
        let image = try PNGImage(bytes)
        let top = image.distinctColours(x: 0..<Self.width, y: 0..<1_000, step: 3)
        #expect(top.count > 20, "the top of the page has only \(top.count) colours")
        // The charts' bar colours are on the page (the branch and tier charts are near the top).
        let blue = image.count(near: (0x2F, 0x6D, 0xB5), x: 0..<Self.width, y: 0..<Self.height)
        let green = image.count(near: (0x3A, 0x8F, 0x5C), x: 0..<Self.width, y: 0..<Self.height)
        #expect(blue > 2_000, "blue bar pixels: \(blue)")
        #expect(green > 1_000, "green bar pixels: \(green)")

        // A blank page renders as one colour: the comparison that makes the checks above meaningful.
        let blankShot = directory.appendingPathComponent("blank.png")
        try chromium.screenshot(blankPage, to: blankShot, width: Self.width, height: Self.height, workDir: directory)
        let blank = try PNGImage([UInt8](Data(contentsOf: blankShot)))
        #expect(blank.distinctColours(x: 0..<Self.width, y: 0..<1_000, step: 3).count <= 2)

        // The DOM: every chart as an <svg> with its <title>.
        let dom = try chromium.dumpDOM(page, workDir: directory)
        let figures = ReportFixtures.figures
        for id in HTMLReport.chartIDs(figures) {
            #expect(dom.contains("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" id=\"\(id)\""), "no svg \(id) in the DOM")
            #expect(dom.contains("<title id=\"\(id)-title\">"), "no title for \(id) in the DOM")
        }
        for title in ["Customers per branch", "Total assets per asset tier", "Campaign hit rate vs untargeted baseline", "Customers per asset_tier"] {
            #expect(dom.contains(">\(title)</title>"), "no chart titled \(title)")
        }
        // The top managers: one bar per manager of the figures, in the DOM Chromium built.
        let managers = figures.compensation?.topManagers ?? []
        #expect(managers.count == 4)
        let chart = svgElement(id: "top-managers", in: dom) ?? ""
        #expect(chart.contains(">Top 4 client managers by pay, 2026-10</title>"), "no top-managers chart in the DOM")
        #expect(occurrences(of: "<rect class=\"bar\"", in: chart) == managers.count)
        for manager in managers {
            #expect(chart.contains("<title>\(manager.managerID) \(manager.name) · \(manager.branchID): \(Format.money(fen: manager.totalFen))</title>"),
                    "no bar for \(manager.managerID)")
        }
    }
}

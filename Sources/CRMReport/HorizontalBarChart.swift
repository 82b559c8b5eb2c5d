/// A horizontal bar chart as one `<svg>` element: a title, one labelled bar per item with its value
/// written after it, and a value axis with gridlines. Suits long labels (branch names, classes).
public struct HorizontalBarChart: Sendable, Equatable {
    public struct Bar: Sendable, Equatable {
        public var label: String
        public var value: Double
        /// Written after the bar, e.g. "1,234" or "¥5.6万 · 312 customers".
        public var valueText: String

        public init(_ label: String, _ value: Double, _ valueText: String) {
            self.label = label
            self.value = value
            self.valueText = valueText
        }
    }

    /// Unique within the page: the element's id, and its title's id is `<id>-title`.
    public var id: String
    /// Shown above the chart and as the SVG's `<title>` (what a screen reader and a DOM check read).
    public var title: String
    public var bars: [Bar]
    public var kind: ValueKind
    public var color: String
    public var width: Double

    static let rowHeight = 22.0
    static let barHeight = 14.0
    static let top = 30.0
    static let axisHeight = 22.0
    static let pixelsPerColumn = 6.6

    public init(id: String, title: String, bars: [Bar], kind: ValueKind = .count, color: String = "#2f6db5", width: Double = 540) {
        self.id = Markup.identifier(id)
        self.title = title
        self.bars = bars
        self.kind = kind
        self.color = color
        self.width = width
    }

    /// Width of the label column: the longest label's display width, between 48 and 200 pixels.
    var labelWidth: Double {
        let columns = bars.map { DisplayWidth.of($0.label) }.max() ?? 0
        return min(200, max(48, Double(columns) * Self.pixelsPerColumn + 10))
    }

    /// Width kept right of the longest bar for its value text, between 40 and 220 pixels.
    var valueColumn: Double {
        let columns = bars.map { DisplayWidth.of($0.valueText) }.max() ?? 0
        return min(220, max(40, Double(columns) * Self.pixelsPerColumn + 12))
    }

    /// The room the bars grow in.
    var plotWidth: Double { max(40, width - labelWidth - valueColumn) }

    var height: Double { Self.top + Double(max(1, bars.count)) * Self.rowHeight + Self.axisHeight }

    var scale: ChartScale { ChartScale(dataMaximum: bars.map(\.value).max() ?? 0) }

    /// The drawn length of each bar, in order (0 for values ≤ 0).
    public var barLengths: [Double] {
        let scale = self.scale
        return bars.map { scale.position(of: $0.value, length: plotWidth) }
    }

    public func svg() -> String {
        let x0 = labelWidth, plot = plotWidth, scale = self.scale
        let plotBottom = Self.top + Double(max(1, bars.count)) * Self.rowHeight
        var out = SVGOpening.element(id: id, title: title, width: width, height: height)
        for tick in scale.ticks {
            let x = x0 + scale.position(of: tick, length: plot)
            out += "<line class=\"grid\" x1=\"\(Markup.number(x))\" y1=\"\(Markup.number(Self.top - 4))\" x2=\"\(Markup.number(x))\" y2=\"\(Markup.number(plotBottom))\"/>"
            out += "<text class=\"tick\" x=\"\(Markup.number(x))\" y=\"\(Markup.number(plotBottom + 15))\" text-anchor=\"middle\">\(Markup.escape(kind.tickLabel(tick)))</text>"
        }
        if bars.isEmpty {
            out += "<text class=\"empty\" x=\"\(Markup.number(x0 + 8))\" y=\"\(Markup.number(Self.top + 15))\">no data</text>"
        }
        for (index, (bar, length)) in zip(bars, barLengths).enumerated() {
            let rowTop = Self.top + Double(index) * Self.rowHeight
            let barY = rowTop + (Self.rowHeight - Self.barHeight) / 2
            let textY = rowTop + Self.rowHeight / 2 + 4
            let label = DisplayWidth.truncate(bar.label, to: Int((x0 - 10) / Self.pixelsPerColumn))
            out += "<text class=\"label\" x=\"\(Markup.number(x0 - 6))\" y=\"\(Markup.number(textY))\" text-anchor=\"end\">\(Markup.escape(label))</text>"
            out += "<rect class=\"bar\" x=\"\(Markup.number(x0))\" y=\"\(Markup.number(barY))\" width=\"\(Markup.number(length))\" height=\"\(Markup.number(Self.barHeight))\" fill=\"\(Markup.escape(color))\">"
            out += "<title>\(Markup.escape(bar.label)): \(Markup.escape(bar.valueText))</title></rect>"
            out += "<text class=\"value\" x=\"\(Markup.number(x0 + length + 5))\" y=\"\(Markup.number(textY))\">\(Markup.escape(bar.valueText))</text>"
        }
        return out + "</svg>"
    }
}

/// The opening of every chart's `<svg>`: size, accessible name and its visible title.
enum SVGOpening {
    static func element(id: String, title: String, width: Double, height: Double) -> String {
        let w = Markup.number(width), h = Markup.number(height)
        return "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" id=\"\(id)\" role=\"img\" aria-labelledby=\"\(id)-title\" "
            + "width=\"\(w)\" height=\"\(h)\" viewBox=\"0 0 \(w) \(h)\">"
            + "<title id=\"\(id)-title\">\(Markup.escape(title))</title>"
            + "<text class=\"chart-title\" x=\"0\" y=\"16\">\(Markup.escape(title))</text>"
    }
}

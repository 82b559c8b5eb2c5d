import Foundation
import Testing

/// The PNG reader the browser test relies on, on files made by zlib (stored and fixed-Huffman
/// blocks, the Sub and Paeth filters) and a dynamic-Huffman stream.
@Suite struct PNGImageTests {
    /// 3×2 RGB: row 0 filtered with Sub, row 1 with Paeth.
    static let pixels: [[UInt8]] = [[10, 20, 30], [40, 50, 60], [70, 80, 90], [100, 110, 120], [130, 140, 150], [160, 170, 180]]
    static let stored = "iVBORw0KGgoAAAANSUhEUgAAAAMAAAACCAIAAAASFvFNAAAAH0lEQVR4AQEUAOv/AQoUHh4eHh4eHgRaWloeHh4eHh4Y2AK4cBSYuQAAAABJRU5ErkJggg=="
    static let fixedHuffman = "iVBORw0KGgoAAAANSUhEUgAAAAMAAAACCAIAAAASFvFNAAAAE0lEQVR42mPkEpGDAJaoqCgICwAY2AK4jSEYRQAAAABJRU5ErkJggg=="

    @Test(arguments: [stored, fixedHuffman])
    func decodesSizeAndPixels(base64: String) throws {
        let data = try #require(Data(base64Encoded: base64))
        let image = try PNGImage([UInt8](data))
        #expect(image.width == 3 && image.height == 2)
        for (index, expected) in Self.pixels.enumerated() {
            #expect(Array(image.pixels[(index * 4)..<(index * 4 + 3)]) == expected, "pixel \(index)")
            #expect(image.pixels[index * 4 + 3] == 255)
        }
        #expect(image.distinctColours(x: 0..<3, y: 0..<2, step: 1).count == 6)
    }

    @Test func inflatesADynamicHuffmanStream() throws {
        let compressed = try #require(Data(base64Encoded: """
        eNo9UdsRwDAI+ndLgf1nqKBp75LGF4Ki2d2Y0/SL/S5w/YkVISFPFATnYLxjAiV75whEO1gpI+evcXH8wQxUG4e+xPmCMu/rlJuBnVxVhYMNR+BiXE47NnTcGAc9p8Ku2o11bRXv0xaI6Etcxysi0mY8\
        MqwBNSVcxcfAYUsbgeARklZSyDrLoQpTblmn0BN6Kl2prU//gShu7mZlaLyOScUx6EVfIGZeSa21+3rQ0irlR6ZVfyWyKRuFEZANlPvotnWzrmyo3ibf8AIw+1vXkoKJOfYBxN7W8A==
        """))
        #expect((compressed[2] >> 1) & 3 == 2, "the fixture is a dynamic-Huffman block")
        let output = try Inflate.decompress(Array(compressed.dropFirst(2)))
        #expect(output.count == 600)
        #expect(output.reduce(0) { $0 + Int($1) } == 55_023)
        #expect(Set(output).isSubset(of: Set("abcd\n".utf8)))
        #expect(output.prefix(8) == ArraySlice("bacaaaba".utf8))
    }

    @Test func refusesWhatIsNotAPNG() {
        #expect(throws: PNGImage.DecodeError.self) { try PNGImage([UInt8]("not a png at all, really not".utf8)) }
    }
}

import Foundation

/// A decoded PNG (8-bit grey, grey+alpha, RGB or RGBA, not interlaced): enough to look at a headless
/// browser's screenshot without any image library. Pixels are kept as RGBA.
struct PNGImage {
    let width: Int
    let height: Int
    /// RGBA, row by row.
    let pixels: [UInt8]

    struct DecodeError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// Width and height from the IHDR chunk alone.
    static func size(of data: [UInt8]) throws -> (width: Int, height: Int) {
        guard data.count >= 24, Array(data[0..<8]) == signature, String(decoding: data[12..<16], as: UTF8.self) == "IHDR" else {
            throw DecodeError("not a PNG file (no signature and IHDR)")
        }
        return (Int(bigEndian: data, at: 16), Int(bigEndian: data, at: 20))
    }

    init(_ data: [UInt8]) throws {
        let (width, height) = try Self.size(of: data)
        var offset = 8
        var compressed: [UInt8] = []
        var bitDepth = 0, colourType = 0, interlace = 0
        while offset + 8 <= data.count {
            let length = Int(bigEndian: data, at: offset)
            let type = String(decoding: data[(offset + 4)..<(offset + 8)], as: UTF8.self)
            let start = offset + 8
            guard length >= 0, start + length + 4 <= data.count else { throw DecodeError("chunk \(type) runs past the end") }
            switch type {
            case "IHDR":
                bitDepth = Int(data[start + 8])
                colourType = Int(data[start + 9])
                interlace = Int(data[start + 12])
            case "IDAT":
                compressed += data[start..<(start + length)]
            default:
                break
            }
            offset = start + length + 4
            if type == "IEND" { break }
        }
        guard bitDepth == 8, interlace == 0 else { throw DecodeError("only 8-bit, non-interlaced PNGs (bit depth \(bitDepth), interlace \(interlace))") }
        let channels: Int
        switch colourType {
        case 0: channels = 1
        case 2: channels = 3
        case 4: channels = 2
        case 6: channels = 4
        default: throw DecodeError("colour type \(colourType) is not supported")
        }
        guard compressed.count > 2 else { throw DecodeError("no image data") }
        let raw = try Inflate.decompress(Array(compressed.dropFirst(2)))  // skip the zlib header
        let stride = width * channels
        guard raw.count >= height * (stride + 1) else { throw DecodeError("image data holds \(raw.count) bytes, expected \(height * (stride + 1))") }
        var rows = [UInt8](repeating: 0, count: height * stride)
        for y in 0..<height {
            let filter = raw[y * (stride + 1)]
            let source = y * (stride + 1) + 1
            for x in 0..<stride {
                let value = raw[source + x]
                let left = x >= channels ? Int(rows[y * stride + x - channels]) : 0
                let up = y > 0 ? Int(rows[(y - 1) * stride + x]) : 0
                let upLeft = y > 0 && x >= channels ? Int(rows[(y - 1) * stride + x - channels]) : 0
                let predictor: Int
                switch filter {
                case 0: predictor = 0
                case 1: predictor = left
                case 2: predictor = up
                case 3: predictor = (left + up) / 2
                case 4:
                    let estimate = left + up - upLeft
                    let toLeft = abs(estimate - left), toUp = abs(estimate - up), toUpLeft = abs(estimate - upLeft)
                    predictor = toLeft <= toUp && toLeft <= toUpLeft ? left : (toUp <= toUpLeft ? up : upLeft)
                default: throw DecodeError("unknown filter \(filter) on row \(y)")
                }
                rows[y * stride + x] = UInt8(truncatingIfNeeded: Int(value) + predictor)
            }
        }
        var rgba = [UInt8](repeating: 255, count: width * height * 4)
        for index in 0..<(width * height) {
            let pixel = Array(rows[(index * channels)..<(index * channels + channels)])
            switch channels {
            case 1: rgba[index * 4] = pixel[0]; rgba[index * 4 + 1] = pixel[0]; rgba[index * 4 + 2] = pixel[0]
            case 2: rgba[index * 4] = pixel[0]; rgba[index * 4 + 1] = pixel[0]; rgba[index * 4 + 2] = pixel[0]; rgba[index * 4 + 3] = pixel[1]
            default:
                for channel in 0..<channels { rgba[index * 4 + channel] = pixel[channel] }
            }
        }
        self.width = width
        self.height = height
        self.pixels = rgba
    }

    /// The distinct colours (RGB) in a rectangle, sampling every `step`-th pixel each way.
    func distinctColours(x: Range<Int>, y: Range<Int>, step: Int = 2) -> Set<UInt32> {
        var colours: Set<UInt32> = []
        for row in Swift.stride(from: max(0, y.lowerBound), to: min(height, y.upperBound), by: step) {
            for column in Swift.stride(from: max(0, x.lowerBound), to: min(width, x.upperBound), by: step) {
                let index = (row * width + column) * 4
                colours.insert(UInt32(pixels[index]) << 16 | UInt32(pixels[index + 1]) << 8 | UInt32(pixels[index + 2]))
            }
        }
        return colours
    }

    /// How many pixels of a rectangle are close to an RGB colour (each channel within `tolerance`).
    func count(near colour: (UInt8, UInt8, UInt8), tolerance: Int = 24, x: Range<Int>, y: Range<Int>) -> Int {
        var total = 0
        for row in max(0, y.lowerBound)..<min(height, y.upperBound) {
            for column in max(0, x.lowerBound)..<min(width, x.upperBound) {
                let index = (row * width + column) * 4
                if abs(Int(pixels[index]) - Int(colour.0)) <= tolerance, abs(Int(pixels[index + 1]) - Int(colour.1)) <= tolerance,
                   abs(Int(pixels[index + 2]) - Int(colour.2)) <= tolerance {
                    total += 1
                }
            }
        }
        return total
    }
}

private extension Int {
    init(bigEndian data: [UInt8], at offset: Int) {
        self = Int(data[offset]) << 24 | Int(data[offset + 1]) << 16 | Int(data[offset + 2]) << 8 | Int(data[offset + 3])
    }
}

/// A DEFLATE (RFC 1951) decoder: stored, fixed-Huffman and dynamic-Huffman blocks, after the
/// canonical-code approach of zlib's `puff.c`.
enum Inflate {
    struct Huffman {
        var counts = [Int](repeating: 0, count: 16)
        var symbols: [Int]

        init(lengths: [Int]) throws {
            symbols = [Int](repeating: 0, count: lengths.count)
            for length in lengths { counts[length] += 1 }
            counts[0] = 0
            var offsets = [Int](repeating: 0, count: 16)
            for length in 1..<15 { offsets[length + 1] = offsets[length] + counts[length] }
            for (symbol, length) in lengths.enumerated() where length != 0 {
                symbols[offsets[length]] = symbol
                offsets[length] += 1
            }
        }
    }

    struct Bits {
        let data: [UInt8]
        var position = 0
        var buffer = 0
        var available = 0

        mutating func take(_ count: Int) throws -> Int {
            while available < count {
                guard position < data.count else { throw PNGImage.DecodeError("compressed data ends early") }
                buffer |= Int(data[position]) << available
                position += 1
                available += 8
            }
            let value = buffer & ((1 << count) - 1)
            buffer >>= count
            available -= count
            return value
        }

        mutating func decode(_ huffman: Huffman) throws -> Int {
            var code = 0, first = 0, index = 0
            for length in 1...15 {
                code |= try take(1)
                let count = huffman.counts[length]
                if code - count < first { return huffman.symbols[index + code - first] }
                index += count
                first = (first + count) << 1
                code <<= 1
            }
            throw PNGImage.DecodeError("invalid Huffman code")
        }
    }

    static let lengthBase = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
    static let lengthExtra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    static let distanceBase = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097,
                               6145, 8193, 12289, 16385, 24577]
    static let distanceExtra = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]
    static let codeLengthOrder = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

    static func decompress(_ data: [UInt8]) throws -> [UInt8] {
        var bits = Bits(data: data)
        var output: [UInt8] = []
        output.reserveCapacity(data.count * 8)
        let fixedLengths = try Huffman(lengths: (0..<288).map { $0 < 144 ? 8 : $0 < 256 ? 9 : $0 < 280 ? 7 : 8 })
        let fixedDistances = try Huffman(lengths: [Int](repeating: 5, count: 30))
        var last = 0
        repeat {
            last = try bits.take(1)
            switch try bits.take(2) {
            case 0:
                bits.buffer = 0
                bits.available = 0
                guard bits.position + 4 <= data.count else { throw PNGImage.DecodeError("stored block header runs past the end") }
                let length = Int(data[bits.position]) | Int(data[bits.position + 1]) << 8
                bits.position += 4
                guard bits.position + length <= data.count else { throw PNGImage.DecodeError("stored block runs past the end") }
                output += data[bits.position..<(bits.position + length)]
                bits.position += length
            case 1:
                try inflateBlock(&bits, &output, fixedLengths, fixedDistances)
            case 2:
                let (lengths, distances) = try dynamicTables(&bits)
                try inflateBlock(&bits, &output, lengths, distances)
            default:
                throw PNGImage.DecodeError("invalid block type")
            }
        } while last == 0
        return output
    }

    static func dynamicTables(_ bits: inout Bits) throws -> (Huffman, Huffman) {
        let literalCount = try bits.take(5) + 257
        let distanceCount = try bits.take(5) + 1
        let codeCount = try bits.take(4) + 4
        var codeLengths = [Int](repeating: 0, count: 19)
        for index in 0..<codeCount { codeLengths[codeLengthOrder[index]] = try bits.take(3) }
        let codeHuffman = try Huffman(lengths: codeLengths)
        var lengths: [Int] = []
        while lengths.count < literalCount + distanceCount {
            let symbol = try bits.decode(codeHuffman)
            switch symbol {
            case 0...15: lengths.append(symbol)
            case 16:
                guard let previous = lengths.last else { throw PNGImage.DecodeError("repeat with no previous length") }
                lengths += [Int](repeating: previous, count: 3 + (try bits.take(2)))
            case 17: lengths += [Int](repeating: 0, count: 3 + (try bits.take(3)))
            default: lengths += [Int](repeating: 0, count: 11 + (try bits.take(7)))
            }
        }
        guard lengths.count == literalCount + distanceCount else { throw PNGImage.DecodeError("code lengths overrun") }
        return (try Huffman(lengths: Array(lengths[0..<literalCount])), try Huffman(lengths: Array(lengths[literalCount...])))
    }

    static func inflateBlock(_ bits: inout Bits, _ output: inout [UInt8], _ lengths: Huffman, _ distances: Huffman) throws {
        while true {
            let symbol = try bits.decode(lengths)
            if symbol < 256 {
                output.append(UInt8(symbol))
            } else if symbol == 256 {
                return
            } else {
                let index = symbol - 257
                guard index < lengthBase.count else { throw PNGImage.DecodeError("invalid length symbol") }
                let length = lengthBase[index] + (try bits.take(lengthExtra[index]))
                let distanceSymbol = try bits.decode(distances)
                guard distanceSymbol < distanceBase.count else { throw PNGImage.DecodeError("invalid distance symbol") }
                let distance = distanceBase[distanceSymbol] + (try bits.take(distanceExtra[distanceSymbol]))
                guard distance <= output.count else { throw PNGImage.DecodeError("distance beyond the output") }
                let start = output.count - distance
                for offset in 0..<length { output.append(output[start + offset]) }
            }
        }
    }
}

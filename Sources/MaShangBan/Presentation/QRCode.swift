import CQREncode
import Foundation

/// QR code images of a token, encoded by libqrencode (error correction level M, a quiet
/// zone of 4 modules) and written as PNG by libpng's simplified API or as SVG.
public enum QRCode {
    public static let quietZone = 4

    /// The modules (true = dark), row by row, with the quiet zone.
    static func modules(_ text: String) throws -> (size: Int, dark: [Bool]) {
        guard let code = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1) else {
            throw InternalError("libqrencode could not encode the text")
        }
        defer { QRcode_free(code) }
        let width = Int(code.pointee.width)
        let size = width + 2 * quietZone
        var dark = [Bool](repeating: false, count: size * size)
        for y in 0..<width {
            for x in 0..<width where code.pointee.data[y * width + x] & 1 == 1 {
                dark[(y + quietZone) * size + x + quietZone] = true
            }
        }
        return (size, dark)
    }

    /// A grey-scale PNG, `scale` pixels per module.
    public static func png(_ text: String, scale: Int = 8) throws -> [UInt8] {
        let (size, dark) = try modules(text)
        let side = size * scale
        var pixels = [UInt8](repeating: 255, count: side * side)
        for y in 0..<side {
            for x in 0..<side where dark[(y / scale) * size + x / scale] { pixels[y * side + x] = 0 }
        }
        var image = png_image()
        image.version = png_uint_32(PNG_IMAGE_VERSION)
        image.width = png_uint_32(side)
        image.height = png_uint_32(side)
        image.format = png_uint_32(PNG_FORMAT_GRAY)
        var length: png_alloc_size_t = 0
        guard png_image_write_to_memory(&image, nil, &length, 0, pixels, png_int_32(side), nil) != 0, length > 0 else {
            throw InternalError("libpng could not size the image")
        }
        var out = [UInt8](repeating: 0, count: Int(length))
        let written = out.withUnsafeMutableBytes { buffer in
            png_image_write_to_memory(&image, buffer.baseAddress, &length, 0, pixels, png_int_32(side), nil)
        }
        png_image_free(&image)
        guard written != 0 else { throw InternalError("libpng could not write the image") }
        return Array(out.prefix(Int(length)))
    }

    /// An SVG: one path of unit squares on a white background, viewBox in modules.
    public static func svg(_ text: String) throws -> String {
        let (size, dark) = try modules(text)
        var path = ""
        for y in 0..<size {
            for x in 0..<size where dark[y * size + x] { path += "M\(x) \(y)h1v1h-1z" }
        }
        return """
            <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(size) \(size)" width="\(size * 8)" height="\(size * 8)" \
            shape-rendering="crispEdges"><rect width="\(size)" height="\(size)" fill="#fff"/><path d="\(path)" fill="#000"/></svg>

            """
    }
}

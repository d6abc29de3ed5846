import CQREncode
import Foundation
import Testing
import MaShangBanTestSupport

/// libqrencode is wired through the CQREncode system-library target (used for QR images later).
@Test func qrencodeIsLinked() throws {
    errno = 0
    let code = QRcode_encodeString("MSB", 0, QR_ECLEVEL_M, QR_MODE_8, 1)
    let error = errno
    let symbol = try #require(code, "QRcode_encodeString failed, errno \(error)")
    defer { QRcode_free(symbol) }
    #expect(symbol.pointee.width == 21, "version 1 symbol")
}

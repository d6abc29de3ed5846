import Foundation
import MaShangBan

// What every test target stands on: a temporary directory, a clock tests move by hand,
// sample holders and licences, a backend on a fresh data directory, and the external tools
// some tests need.

/// A temporary directory, removed when the test ends.
public final class TemporaryDirectory: @unchecked Sendable {
    public let url: URL

    public init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("msb-test-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    /// The directory as a data directory.
    public var dataDirectory: DataDirectory { DataDirectory(url) }
}

/// The library's manual clock, which tests move by hand, starting at a fixed instant.
public typealias TestClock = ManualClock

extension ManualClock {
    /// A clock at 2027-01-15T08:00:00Z.
    public convenience init() { self.init(Date(timeIntervalSince1970: 1_800_000_000)) }
}

/// The admin token test backends are created with.
public let testAdminToken = "test-admin-token-0123456789"

/// A backend on `dir` (created on first use), with `testAdminToken` and the clock's time.
public func openBackend(_ dir: TemporaryDirectory, crypto: CryptoProfile? = nil, settings: BackendSettings = BackendSettings(),
                        clock: TestClock = TestClock()) throws -> Backend {
    try Backend.open(BackendOptions(dataDirectory: dir.dataDirectory, crypto: crypto, adminToken: testAdminToken, settings: settings,
                                    now: clock.now))
}

/// External programs some tests run; each test that needs one is skipped, saying which
/// Debian package has it, when it is missing (`make test` installs them all).
public enum Tool: String, Sendable {
    case zbarimg, openssl, curl, wrk

    /// Where the program is, if it is installed.
    public var path: String? {
        for folder in ["/usr/bin", "/usr/local/bin", "/bin"] {
            let candidate = "\(folder)/\(rawValue)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    public var isInstalled: Bool { path != nil }

    /// Why a test that needs it is skipped.
    public var missing: String {
        let package = self == .zbarimg ? "zbar-tools" : rawValue
        return "needs \(rawValue) (Debian package \(package); `make test` installs it)"
    }
}

/// Sample holders with valid check characters (Tests/MaShangBanTests/Fixtures/identity.json).
public enum Sample {
    public static let person = "430405198501011235"
    public static let otherPerson = "430402199003150027"
    public static let enterprise = "91430400MA4L0XXX16"
    /// Two issuing authorities (made-up 机关 credit codes).
    public static let issuerCode = "11430400MB1234567L"
    public static let otherIssuerCode = "11430400MB7654321H"
    /// An agent's `valid_until` some months ahead (at most `--max-agent-days`, 366 by default).
    public static var agentUntil: String { CalendarDate(Date()).adding(days: 200).text }

    public static func idCard(holder: String = person, number: String? = nil, name: String = "王一静", validUntil: String = "2040-01-01",
                       extra: String = "") -> String {
        #"""
        {"type":"resident_id_card","number":"\#(number ?? holder)","holder":{"kind":"person","id":"\#(holder)"},
         "fields":{"name":"\#(name)","sex":"女","birth_date":"1985-01-01","address":"湖南省衡阳市蒸湘区解放大道12号",
                   "id_number":"\#(holder)"\#(extra)},
         "valid_from":"2020-01-01","valid_until":"\#(validUntil)","issuer":"衡阳市公安局"}
        """#
    }

    public static func socialSecurityCard(holder: String = person) -> String {
        #"""
        {"type":"social_security_card","number":"6222020200112233445","holder":{"kind":"person","id":"\#(holder)"},
         "fields":{"name":"王一静","id_number":"\#(holder)","card_number":"6222020200112233445"},
         "valid_from":"2021-05-01","issuer":"衡阳市人力资源和社会保障局"}
        """#
    }

    public static func businessLicence(holder: String = enterprise, representative: String = otherPerson) -> String {
        #"""
        {"type":"business_licence","number":"\#(holder)","holder":{"kind":"enterprise","id":"\#(holder)"},
         "fields":{"credit_code":"\#(holder)","enterprise_name":"衡阳市湘江建设有限公司","legal_representative":"欧阳一峰",
                   "legal_representative_id":"\#(representative)","address":"湖南省衡阳市雁峰区先锋路8号"},
         "valid_from":"2019-03-01","issuer":"衡阳市市场监督管理局"}
        """#
    }
}
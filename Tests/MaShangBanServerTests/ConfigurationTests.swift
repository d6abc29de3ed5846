import MaShangBan
import Testing
@testable import MaShangBanServer

@Suite("serve configuration: flags > MSB_* environment > defaults")
struct ConfigurationTests {
    typealias Flags = ServeConfiguration.Flags

    @Test func defaults() throws {
        let c = try ServeConfiguration.resolve(flags: Flags(), environment: [:])
        #expect(c == ServeConfiguration())
        #expect(c.host == "127.0.0.1" && c.port == 8080 && c.dataDirectory == "./data" && c.region == "430400" && c.tokenTTL == 120)
        #expect(c.crypto == nil)
    }

    @Test func environmentOverridesDefaultsAndFlagsOverrideEnvironment() throws {
        let env = ["MSB_PORT": "9000", "MSB_DATA": "/srv/msb", "MSB_CRYPTO": "gm", "MSB_REGION": "430100", "MSB_TOKEN_TTL": "60",
                   "MSB_ADMIN_TOKEN": "from-the-environment-123"]
        let fromEnv = try ServeConfiguration.resolve(flags: Flags(), environment: env)
        #expect(fromEnv.port == 9000 && fromEnv.dataDirectory == "/srv/msb" && fromEnv.crypto == .gm)
        #expect(fromEnv.region == "430100" && fromEnv.tokenTTL == 60 && fromEnv.adminToken == "from-the-environment-123")
        var flags = Flags()
        flags.port = 9100
        flags.crypto = "intl"
        flags.data = "/tmp/x"
        let fromFlags = try ServeConfiguration.resolve(flags: flags, environment: env)
        #expect(fromFlags.port == 9100 && fromFlags.crypto == .intl && fromFlags.dataDirectory == "/tmp/x")
        #expect(fromFlags.region == "430100")
    }

    @Test(arguments: [
        ["MSB_PORT": "70000"], ["MSB_PORT": "http"], ["MSB_CRYPTO": "rsa"], ["MSB_REGION": "43040"], ["MSB_TOKEN_TTL": "10"],
        ["MSB_TOKEN_TTL": "601"], ["MSB_LOG_LEVEL": "loud"], ["MSB_IDLE_TIMEOUT": "0"],
    ])
    func invalidValuesAreRefusedWithTheirName(env: [String: String]) {
        #expect(throws: ServeConfiguration.Invalid.self) { try ServeConfiguration.resolve(flags: Flags(), environment: env) }
    }
}

@testable import MaShangBan
import Testing
import MaShangBanDemo
@testable import MaShangBanServer
import MaShangBanTestSupport

@Suite("serve configuration: flags > MSB_* environment > defaults")
struct ConfigurationTests {
    typealias Flags = ServeConfiguration.Flags

    @Test func defaults() throws {
        let c = try ServeConfiguration.resolve(flags: Flags.parse([]), environment: [:])
        #expect(c == ServeConfiguration())
        #expect(c.host == "127.0.0.1" && c.port == 8080 && c.dataDirectory == "./data" && c.backend.region == "430400" && c.backend.tokenLifetime == 120)
        #expect(c.crypto == nil)
    }

    @Test func environmentOverridesDefaultsAndFlagsOverrideEnvironment() throws {
        let env = ["MSB_PORT": "9000", "MSB_DATA": "/srv/msb", "MSB_CRYPTO": "gm", "MSB_REGION": "430100", "MSB_TOKEN_TTL": "60",
                   "MSB_ADMIN_TOKEN": "from-the-environment-123"]
        let fromEnv = try ServeConfiguration.resolve(flags: Flags.parse([]), environment: env)
        #expect(fromEnv.port == 9000 && fromEnv.dataDirectory == "/srv/msb" && fromEnv.crypto == .gm)
        #expect(fromEnv.backend.region == "430100" && fromEnv.backend.tokenLifetime == 60 && fromEnv.adminToken == "from-the-environment-123")
        let flags = try Flags.parse(["--port", "9100", "--crypto", "intl", "--data", "/tmp/x"])
        let fromFlags = try ServeConfiguration.resolve(flags: flags, environment: env)
        #expect(fromFlags.port == 9100 && fromFlags.crypto == .intl && fromFlags.dataDirectory == "/tmp/x")
        #expect(fromFlags.backend.region == "430100")
    }

    @Test(arguments: [
        ["MSB_PORT": "70000"], ["MSB_PORT": "http"], ["MSB_CRYPTO": "rsa"], ["MSB_REGION": "43040"], ["MSB_TOKEN_TTL": "10"],
        ["MSB_TOKEN_TTL": "601"], ["MSB_LOG_LEVEL": "loud"], ["MSB_IDLE_TIMEOUT": "0"], ["MSB_WARM_SNAPSHOTS": "-1"],
        ["MSB_WARM_SNAPSHOTS": "10001"],
    ])
    func invalidValuesAreRefusedWithTheirName(env: [String: String]) throws {
        let flags = try Flags.parse([])
        let name = try #require(env.keys.first)
        let error = #expect(throws: ServeConfiguration.Invalid.self) { try ServeConfiguration.resolve(flags: flags, environment: env) }
        #expect(error?.description.contains(name) == true, "\(String(describing: error))")
    }

    /// Warm snapshots (issue 26): a second by default, any other length, or off with 0.
    @Test func warmSnapshotsAreSetOrTurnedOff() throws {
        #expect(try ServeConfiguration.resolve(flags: Flags.parse([]), environment: [:]).backend.warmSnapshots == .milliseconds(1000))
        #expect(try ServeConfiguration.resolve(flags: Flags.parse(["--warm-snapshots", "50"]), environment: [:]).backend.warmSnapshots
            == .milliseconds(50))
        #expect(try ServeConfiguration.resolve(flags: Flags.parse([]), environment: ["MSB_WARM_SNAPSHOTS": "0"]).backend.warmSnapshots == nil)
    }

    /// `--peer` is the demo's: REGION=URL pairs, only with `--demo`.
    @Test func demoPeersAreParsedAndOnlyForTheDemo() throws {
        let demo = try ServeConfiguration.resolve(flags: Flags.parse(["--demo", "--peer", "430100=http://127.0.0.1:8081/"]), environment: [:])
        #expect(demo.demoPeers == [Demo.Peer(region: "430100", url: "http://127.0.0.1:8081")])
        let fromEnv = try ServeConfiguration.resolve(flags: Flags.parse([]), environment: ["MSB_DEMO": "1", "MSB_PEERS": "430100=http://a:1, 450300=https://b"])
        #expect(fromEnv.demoPeers.map(\.region) == ["430100", "450300"])
        for bad in [["--peer", "430100=http://127.0.0.1:8081"], ["--demo", "--peer", "430400=http://x"], ["--demo", "--peer", "4301=http://x"],
                    ["--demo", "--peer", "430100=ftp://x"], ["--demo", "--peer", "430100"]] {
            let error = #expect(throws: ServeConfiguration.Invalid.self) { try ServeConfiguration.resolve(flags: Flags.parse(bad), environment: [:]) }
            #expect(error?.description.contains("--peer") == true, "\(bad)")
        }
    }

    /// Every flag's help names its environment variable, and numbers show their default.
    @Test func helpNamesTheVariablesAndDefaults() {
        let help = Serve.helpMessage(columns: 400)
        for variable in ["MSB_DATA", "MSB_PORT", "MSB_TOKEN_TTL", "MSB_TRUSTED_PROXIES", "MSB_RATE_LIMITS", "MSB_MAX_CONNECTIONS_PER_ADDRESS",
                         "MSB_DELIVERY_RETRY_MAX", "MSB_LOG_LEVEL", "MSB_DEMO"] {
            #expect(help.contains(variable), "\(variable)")
        }
        #expect(help.contains("default 8080") && help.contains("default 120") && help.contains("default 600"))
    }
}

import Crypto
import Foundation
import GRDB
import Testing
@testable import MaShangBan
import MaShangBanTestSupport

@Suite("Key derivation (RFC 5869) and the move to derived keys")
struct KeyDerivationTests {
    static func bytes(_ hex: String) -> [UInt8] { Encoding.fromHex(hex) ?? [] }

    /// RFC 5869 Appendix A.1 and A.3 (SHA-256).
    @Test func rfc5869TestVectors() {
        let suite = CryptoSuite(profile: .intl)
        let one = KeyDerivation.hkdf(suite, secret: [UInt8](repeating: 0x0b, count: 22), salt: Self.bytes("000102030405060708090a0b0c"),
                                     info: Self.bytes("f0f1f2f3f4f5f6f7f8f9"), length: 42)
        #expect(Encoding.hex(one) == "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865")
        let three = KeyDerivation.hkdf(suite, secret: [UInt8](repeating: 0x0b, count: 22), salt: [], info: [], length: 42)
        #expect(Encoding.hex(three) == "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8")
    }

    @Test func agreesWithSwiftCryptosHKDF() {
        let suite = CryptoSuite(profile: .intl)
        let random = SystemRandom()
        for length in [16, 32, 33, 64, 100] {
            let (secret, salt, info) = (random.bytes(32), random.bytes(length % 3 == 0 ? 0 : 20), random.bytes(11))
            let theirs = HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: secret), salt: salt, info: info, outputByteCount: length)
            #expect(KeyDerivation.hkdf(suite, secret: secret, salt: salt, info: info, length: length) == theirs.withUnsafeBytes { Array($0) })
        }
    }

    @Test(arguments: CryptoProfile.allCases)
    func theTwoKeysDiffer(crypto: CryptoProfile) {
        let suite = CryptoSuite(profile: crypto)
        let dataKey = SystemRandom().bytes(32)
        let vault = DataVault(suite: suite, dataKey: dataKey)
        #expect(vault.key.count == 32 && vault.lookup.count == 32)
        #expect(vault.key != vault.lookup && vault.key != dataKey && vault.lookup != dataKey)
        #expect(DataVault(suite: suite, dataKey: dataKey).key == vault.key, "the same data key gives the same keys")
    }

    /// A data directory whose data key sealed and digested alike is moved to the derived keys
    /// on its next start: every licence, its number digest, revocation reason, the approval
    /// system's secret; lookups by number still find the same licence.
    @Test(arguments: CryptoProfile.allCases)
    func anUndividedDirectoryMovesToDerivedKeys(crypto: CryptoProfile) async throws {
        let dir = try TemporaryDirectory()
        let backend = try openBackend(dir, crypto: crypto)
        let (client, _) = try await backend.services.clients.create(
            .init(role: "issuer", name: "公安局", issuerCode: "11430400MB1234567L", licenceTypes: ["resident_id_card"]), by: .system)
        let issuer = try LicenceIssuer(client)
        let line = #"{"type":"resident_id_card","number":"430405198501011235","holder":{"kind":"person","id":"430405198501011235"},"fields":{"name":"王一静","sex":"女","birth_date":"1985-01-01","address":"湖南省衡阳市蒸湘区解放大道12号","id_number":"430405198501011235"},"valid_from":"2020-01-01"}"#
        let imported = try await backend.services.library.importLicence(try JSONDecoder().decode(LicenceSubmission.self, from: Data(line.utf8)), by: issuer)
        _ = try await backend.services.library.revoke(id: imported.id, reason: "挂失", by: issuer)
        let (_, secret) = try await backend.services.approvalSystems.create(
            try JSONDecoder().decode(ApprovalSystemRegistry.Registration.self,
                                     from: Data(#"{"code":"hr","name":"人社","webhook_url":"http://127.0.0.1:9/"}"#.utf8)), by: .system)
        // As a directory made before the keys were divided: everything under the data key itself.
        let dataKey = try dir.dataDirectory.readSecret(dir.dataDirectory.dataKey)
        try await backend.transactions.pool.write { db in try db.execute(sql: "DELETE FROM meta WHERE key = 'data_keys'") }
        try KeySeparation.migrate(backend.transactions, from: backend.vault, to: .undivided(suite: backend.suite, dataKey: dataKey))
        try await backend.transactions.pool.write { db in try db.execute(sql: "DELETE FROM meta WHERE key = 'data_keys'") }
        let before = try await backend.transactions.pool.read { db in try Data.fetchOne(db, sql: "SELECT number_key FROM licences") }
        try backend.transactions.pool.close()

        let reopened = try openBackend(dir, crypto: crypto)
        let after = try await reopened.transactions.pool.read { db in try Data.fetchOne(db, sql: "SELECT number_key FROM licences") }
        #expect(after != before, "the number digests were made again")
        #expect(after == Data(reopened.vault.lookupKey("430405198501011235", domain: LicenceLibrary.numberDomain("resident_id_card"))))
        let library = try await reopened.services.library.library(of: .person(try CitizenID("430405198501011235")))
        #expect(library.map(\.fields["name"]) == ["王一静"] && library.first?.revoked == true)
        #expect(try await reopened.services.approvalSystems.secret(of: "hr") == secret)
        let reason = try await reopened.transactions.pool.read { db in try Data.fetchOne(db, sql: "SELECT revoke_reason_box FROM licences") }
        let context = LicenceLibrary.sealContext(type: "resident_id_card", numberKey: try #require(after), column: "revoke_reason")
        #expect(try reopened.vault.open([UInt8](try #require(reason)), context: context) == "挂失")
        // The same number again is the same licence.
        let again = try await reopened.services.library.importLicence(try JSONDecoder().decode(LicenceSubmission.self, from: Data(line.utf8)), by: issuer)
        #expect(again.id == imported.id && !again.created)
        #expect(try await reopened.transactions.pool.read { db in try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'data_keys'") }
                == KeySeparation.done)
    }
}

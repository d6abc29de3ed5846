import Foundation
import Testing
@testable import MaShangBan
import MaShangBanTestSupport

@Suite("Display masks (docs/DESIGN.md table, Fixtures/identity.json masks)")
struct MaskTests {
    @Test func vectors() throws {
        let all = try #require(Fixtures.rawJSON("identity") as? [String: Any])
        let masks = try #require(all["masks"] as? [String: [String: String]])
        #expect(masks.count == 7)
        for (className, cases) in masks {
            let fieldClass = try #require(FieldClass(rawValue: className))
            for (value, expected) in cases {
                #expect(MaskTable.standard.mask(value, as: fieldClass) == expected, "\(className): \(value)")
            }
        }
    }

    @Test func photoIsOmittedAndPublicShown() {
        #expect(MaskTable.standard.mask("base64…", as: .photo) == nil)
        #expect(MaskTable.standard.mask("衡阳市某某建设有限公司", as: .public) == "衡阳市某某建设有限公司")
    }

    @Test func rulesAreConfigurablePerClass() {
        let table = MaskTable.standard.replacing([.citizenID: .keep(first: 6, last: 0), .phone: .omit])
        #expect(table.mask("430405198501011235", as: .citizenID) == "430405************")
        #expect(table.mask("13812345678", as: .phone) == nil)
        #expect(table.mask("王静", as: .personName) == "王*")
    }

    /// Random values for a class: digits, Chinese characters, addresses of varied shapes.
    static func samples(_ fieldClass: FieldClass, count: Int) -> [String] {
        var generator = SystemRandomNumberGenerator()
        let han = Array("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗欧阳一静峰湖南省衡阳市蒸湘区解放大道号县镇旗路")
        func text(_ n: Int, from pool: [Character]) -> String { String((0..<n).map { _ in pool.randomElement(using: &generator)! }) }
        return (0..<count).map { _ in
            let n = Int.random(in: 1...40, using: &generator)
            switch fieldClass {
            case .citizenID, .phone, .account, .licenceNumber: return text(n, from: Array("0123456789X"))
            case .birthDate: return text(4, from: Array("0123456789")) + "-" + text(2, from: Array("0123456789")) + "-" + text(2, from: Array("0123456789"))
            default: return text(n, from: han)
            }
        }
    }

    /// How many positions of the mask show the value's own character.
    static func revealed(_ value: String, _ masked: String) -> Int {
        zip(Array(value), Array(masked)).filter { $0.0 == $0.1 && $0.1 != "*" }.count
    }

    @Test(arguments: FieldClass.allCases.filter { $0 != .public && $0 != .photo })
    func maskedNeverEqualsFullAndRevealsNoMoreThanTheRule(fieldClass: FieldClass) throws {
        for value in Self.samples(fieldClass, count: 500) {
            let masked = try #require(MaskTable.standard.mask(value, as: fieldClass))
            #expect(masked != value, "\(fieldClass): \(value)")
            let shown = Self.revealed(value, masked)
            let chars = Array(value)
            switch fieldClass {
            case .personName: #expect(shown <= (chars.count >= 3 ? 2 : chars.count - 1))
            case .citizenID, .phone: #expect(shown <= 7)
            case .account: #expect(shown <= 4)
            case .licenceNumber: #expect(shown <= 6)
            case .birthDate: #expect(shown <= 6, "year and separators")
            case .address:
                // What is shown is a prefix ending at 区/县/旗/市, or at most 6 characters.
                let prefix = String(masked.dropLast(4))
                #expect(masked.hasSuffix("****") && value.hasPrefix(prefix) && prefix.count < chars.count)
                #expect(prefix.count <= 6 || "区县旗市".contains(prefix.last ?? " "))
            default: break
            }
            if masked.count == value.count { #expect(masked.filter { $0 == "*" }.count >= 1) }
        }
    }
}

extension MaskTests {
    /// ASCII values are masked byte by byte; the answer is the one character by character.
    @Test func asciiIsMaskedAsCharactersAre() {
        let alphabet = Array("0123456789-/ Xx\r\n\t")
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let value = String((0..<Int.random(in: 0...20, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! })
            let characters = Array(value)
            for rule in [MaskRule.keep(first: 3, last: 4), .keep(first: 0, last: 4), .keep(first: 2, last: 0), .birthDate] {
                let expected: String
                switch rule {
                case .keep(let first, let last):
                    expected = characters.count > first + last
                        ? String(characters.prefix(first)) + String(repeating: "*", count: characters.count - first - last) + String(characters.suffix(last))
                        : String(repeating: "*", count: characters.count)
                default:
                    expected = characters.count > 4
                        ? String(characters.prefix(4)) + String(characters.dropFirst(4).map { $0.isNumber ? "*" : $0 })
                        : String(repeating: "*", count: characters.count)
                }
                #expect(rule.apply(value) == expected, "\(rule) \(value.debugDescription)")
            }
        }
        #expect(MaskRule.keep(first: 1, last: 1).apply("a\r\nb") == "a*b", "CR LF is one character")
        #expect(MaskRule.birthDate.apply("1985-01-01") == "1985-**-**")
        #expect(MaskRule.keep(first: 3, last: 4).apply("43040519850101123X") == "430***********123X")
    }

    @Test func addressesThatEndAtTheDistrictStillHideIt() {
        #expect(MaskTable.standard.mask("湖南省衡阳市蒸湘区", as: .address) == "湖南省衡阳市****")
        #expect(MaskTable.standard.mask("衡阳", as: .address) == "衡****")
    }

    /// Names and addresses are split into characters scalar by scalar only when that gives
    /// what Unicode's character rules give; the rest go by those rules.
    @Test func charactersAreSplitAsUnicodeSplitsThem() {
        for value in ["王一静", "买买提·艾力", "湖南省衡阳市蒸湘区解放大道 12 号", "Zhang San", "", "e\u{301}a", "👩\u{200D}💻王",
                      "\r\n1", "한국", "王\u{FE0F}静", "🇨🇳", "a\u{0308}\u{0301}"] {
            #expect(MaskRule.characters(value) == Array(value), "\(value.unicodeScalars.map { String($0.value, radix: 16) })")
        }
        #expect(MaskTable.standard.mask("e\u{301}ve", as: .personName) == "e\u{301}*e")
        #expect(MaskTable.standard.mask("买买提·艾力", as: .personName) == "买****力")
    }
}

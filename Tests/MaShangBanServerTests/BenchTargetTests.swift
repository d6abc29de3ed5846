@testable import MaShangBanBench
import Testing

/// The bench prints each target's figure beside its verdict: a figure that rounds to its bound
/// shows as many more digits as it takes to see which side of the bound it is on.
@Suite struct BenchTargetTests {
    @Test func aFigureThatRoundsToItsBoundShowsTheDigitThatDecides() {
        #expect(Targets.shown(0.0604, decimals: 3, bound: 0.060) == "0.0604")
        #expect(Targets.shown(0.0596, decimals: 3, bound: 0.060) == "0.0596")
        #expect(Targets.shown(0.24996, decimals: 3, bound: 0.25) == "0.24996")
        #expect(Targets.shown(15.04, decimals: 1, bound: 15) == "15.04")
        #expect(Targets.shown(49_999.6, decimals: 0, bound: 50_000) == "49999.6")
    }

    @Test func otherFiguresKeepTheirDecimals() {
        #expect(Targets.shown(0.058, decimals: 3, bound: 0.060) == "0.058")
        #expect(Targets.shown(0.268, decimals: 3, bound: 0.25) == "0.268")
        #expect(Targets.shown(0.060, decimals: 3, bound: 0.060) == "0.060")  // on the bound: it passes as printed
        #expect(Targets.shown(42_621, decimals: 0, bound: 50_000) == "42621")
    }
}

import Testing
@testable import Golden

@Test func linearLayerByHand() throws {
    // W = [[1, -2, 3], [0, 4, -1]], b = [5, -1], x = [2, 0, 1]:
    // I0 = 5 + 2*1 + 0*(-2) + 1*3 = 10;  I1 = -1 + 2*0 + 0*4 + 1*(-1) = -2.
    // Events: inputs 0 and 2 are non-zero -> 2 events, 2*2 = 4 adds, count sum 3.
    let layer = try LinearLayer(weights: [[1, -2, 3], [0, 4, -1]], bias: [5, -1])
    let (currents, ops) = layer.apply([2, 0, 1])
    #expect(currents == [10, -2])
    #expect(ops == SynapticOps(events: 2, adds: 4, countSum: 3))
    // No input, no work: the currents are the bias.
    let (idle, none) = layer.apply([0, 0, 0])
    #expect(idle == [5, -1])
    #expect(none == SynapticOps())
    // Counts 0...2 on every input:
    // I0 in [5 + 2*(-2), 5 + 2*(1 + 3)] = [1, 13];  I1 in [-1 + 2*(-1), -1 + 2*4] = [-3, 7].
    #expect(try layer.outputRange(maxCount: 2) == [1...13, -3...7])
}

@Test func linearLayerSaturatesPerAddInInputOrder() throws {
    // Width 4 ([-8, 7]), W = [[5, 5, -6]], b = 0, x = [1, 1, 1]:
    // 0 + 5 = 5;  5 + 5 = 10 -> 7;  7 - 6 = 1.   (Exact accumulation would give 4.)
    let layer = try LinearLayer(weights: [[5, 5, -6]], bias: [0], accumulatorWidth: 4)
    #expect(layer.apply([1, 1, 1]).currents == [1])
    // A count of 2 adds 2*w at once: 0 + 10 -> 7, the same as adding 5 twice with saturation.
    #expect(layer.apply([2, 0, 0]).currents == [7])
    // The range is the exact range saturated: [-6*1, 10] -> [-6, 7].
    #expect(try layer.outputRange(maxCount: 1) == [-6...7])
    let exact = try LinearLayer(weights: [[5, 5, -6]])
    #expect(exact.apply([1, 1, 1]).currents == [4])
}

@Test func linearLayerRejectsBadShapes() {
    #expect(throws: GoldenError.self) { try LinearLayer(weights: [[1, 2], [3]]) }
    #expect(throws: GoldenError.self) { try LinearLayer(weights: [[1, 2]], bias: [1, 2]) }
    #expect(throws: GoldenError.self) { try LinearLayer(weights: [[1]], bias: [9], accumulatorWidth: 4) }
    #expect(throws: GoldenError.self) { try HeadLayout(channels: 6, heads: 4) }
}

@Test func rowAndColumnSumsByHand() throws {
    // C = 4, h = 2 (d = 2): heads {0,1} and {2,3}. Q = [1, 0, 1, 1] -> sums [1, 2].
    let layout = try HeadLayout(channels: 4, heads: 2)
    #expect(layout.head(of: 1) == 0 && layout.head(of: 2) == 1)
    #expect(SpikeSummation.rowSums([1, 0, 1, 1], layout: layout) == [1, 2])
    // d = 1 (h = C): the row sums are Q itself.
    #expect(SpikeSummation.rowSums([1, 0, 1, 1], layout: try HeadLayout(channels: 4, heads: 4)) == [1, 0, 1, 1])
    // h = 1: one sum over all channels.
    #expect(SpikeSummation.rowSums([1, 0, 1, 1], layout: try HeadLayout(channels: 4, heads: 1)) == [3])
    // N = 3, C = 2: Q = [[1,0],[1,1],[0,1]] -> column sums [2, 2].
    #expect(SpikeSummation.columnSums([1, 0, 1, 1, 0, 1], tokens: 3, channels: 2) == [2, 2])
    // N = 1: the column sums are the token's spikes.
    #expect(SpikeSummation.columnSums([0, 1], tokens: 1, channels: 2) == [0, 1])
    // A forced 3-bit sum saturates at 3: 5 ones -> 3.
    #expect(SpikeSummation.columnSums([1, 1, 1, 1, 1], tokens: 5, channels: 1, width: 3) == [3])
}

@Test func masksByHand() throws {
    // Token mask, C = 4, h = 2: K = [1, 1, 0, 1], A = [0, 1] -> X' = [0, 0, 0, 1].
    let layout = try HeadLayout(channels: 4, heads: 2)
    #expect(SpikeSummation.tokenMask(keys: [1, 1, 0, 1], headMask: [0, 1], layout: layout) == [0, 0, 0, 1])
    // Channel mask, N = 2, C = 2: K = [[1,1],[0,1]], A = [1, 0] -> X' = [[1,0],[0,0]].
    #expect(SpikeSummation.channelMask(keys: [1, 1, 0, 1], channelMask: [1, 0]) == [1, 0, 0, 0])
}

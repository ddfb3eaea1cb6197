import Testing
import Golden

@Test func lifBenchmarkRuns() {
    let r = benchmarkLIFResult(neurons: 4096, steps: 64)
    print("benchmarkLIF:", r)
    #expect(r.updatesPerSecond > 0)
    #expect(r.spikes > 0)
}

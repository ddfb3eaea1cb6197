// QKForge native benchmark: the plain C++ baseline for the Swift-driven loop.
//
// Built by Sources/Cosim/Verilator/VerilatorModel+Benchmark.swift (target qk_bench in
// harness.mk) next to a design's cached model, from the same qk_shim.cpp and the same
// compiled model archive as libqkmodel.so.
//
// usage: qk_bench CYCLES SEED [RUN_DIR]
// prints: cycles <n> seconds <s> checksum <hex>
//
// Per cycle, exactly like VerilatorModel.benchmarkSwift: draw every input word from
// xorshift64 (high 32 bits), set inputs, eval, read outputs into a buffer, fold them
// into an FNV-1a checksum, tick.
#include "qk_shim.cpp"

#include <chrono>
#include <cinttypes>
#include <cstdlib>
#include <vector>

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s CYCLES SEED [RUN_DIR]\n", argv[0]);
        return 2;
    }
    const uint64_t cycles = std::strtoull(argv[1], nullptr, 10);
    const uint64_t seed = std::strtoull(argv[2], nullptr, 10);
    const char* run_dir = argc > 3 ? argv[3] : nullptr;

    char error[512] = {0};
    void* model = qk_create(run_dir, nullptr, error, sizeof error);
    if (!model) {
        std::fprintf(stderr, "qk_bench: %s\n", error);
        return 1;
    }
    std::vector<uint32_t> inputs(QK_INPUT_WORDS + 1, 0);
    std::vector<uint32_t> outputs(QK_OUTPUT_WORDS + 1, 0);
    uint64_t state = seed ? seed : 0x9E3779B97F4A7C15ull;
    uint64_t checksum = 0xcbf29ce484222325ull;

    const auto start = std::chrono::steady_clock::now();
    for (uint64_t c = 0; c < cycles; ++c) {
        for (int w = 0; w < QK_INPUT_WORDS; ++w) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            inputs[w] = static_cast<uint32_t>(state >> 32);
        }
        qk_set_inputs(model, inputs.data());
        qk_eval(model);
        qk_get_outputs(model, outputs.data());
        for (int w = 0; w < QK_OUTPUT_WORDS; ++w) checksum = (checksum ^ outputs[w]) * 0x100000001b3ull;
        qk_tick(model);
    }
    const auto stop = std::chrono::steady_clock::now();
    const double seconds = std::chrono::duration<double>(stop - start).count();
    qk_destroy(model);
    std::printf("cycles %" PRIu64 " seconds %.9f checksum %016" PRIx64 "\n", cycles, seconds, checksum);
    return 0;
}

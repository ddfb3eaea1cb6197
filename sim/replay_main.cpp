// QKForge replay driver: re-runs a recorded stimulus outside Swift.
//
// Copied by VerilatorModel.writeReplay next to stimulus.hex, the Verilog sources and
// qk_shim.cpp; built by the Makefile written there (verilator --exe --trace).
//
// usage: replay [STIMULUS [OUTPUTS [WAVEFORM]]]   (defaults: stimulus.hex outputs.hex replay.vcd)
//
// stimulus.hex: one line per cycle, the packed input words as 8-digit hex separated
// by spaces, least significant word first (the layout is listed in ports.txt).
// outputs.hex: the same format for the packed output words, sampled after eval and
// before the clock edge, exactly as VerilatorModel.run does.
#include "qk_shim.cpp"

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <vector>

int main(int argc, char** argv) {
    const char* stimulus_path = argc > 1 ? argv[1] : "stimulus.hex";
    const char* outputs_path = argc > 2 ? argv[2] : "outputs.hex";
    const char* waveform_path = argc > 3 ? argv[3] : "replay.vcd";

    std::ifstream stimulus(stimulus_path);
    if (!stimulus) {
        std::cerr << "replay: cannot read " << stimulus_path << "\n";
        return 2;
    }
    FILE* outputs = std::fopen(outputs_path, "w");
    if (!outputs) {
        std::cerr << "replay: cannot write " << outputs_path << "\n";
        return 2;
    }
    char error[512] = {0};
    void* model = qk_create(nullptr, waveform_path, error, sizeof error);
    if (!model) {
        std::cerr << "replay: " << error << "\n";
        return 1;
    }
    std::vector<uint32_t> in(QK_INPUT_WORDS + 1, 0);
    std::vector<uint32_t> out(QK_OUTPUT_WORDS + 1, 0);
    std::string line;
    uint64_t cycle = 0;
    while (std::getline(stimulus, line)) {
        std::istringstream words(line);
        for (int w = 0; w < QK_INPUT_WORDS; ++w) {
            std::string token;
            if (!(words >> token)) {
                std::cerr << "replay: line " << cycle + 1 << " has fewer than " << QK_INPUT_WORDS << " words\n";
                return 2;
            }
            in[w] = static_cast<uint32_t>(std::strtoul(token.c_str(), nullptr, 16));
        }
        qk_set_inputs(model, in.data());
        qk_eval(model);
        qk_get_outputs(model, out.data());
        for (int w = 0; w < QK_OUTPUT_WORDS; ++w) std::fprintf(outputs, w ? " %08x" : "%08x", out[w]);
        std::fputc('\n', outputs);
        qk_tick(model);
        ++cycle;
    }
    char message[512] = {0};
    const int status = qk_status(model, message, sizeof message);
    qk_destroy(model);
    std::fclose(outputs);
    std::cout << "replay: " << cycle << " cycles, outputs in " << outputs_path << ", waveform in " << waveform_path
              << "\n";
    if (status == 2) {
        std::cerr << "replay: simulation error: " << message << "\n";
        return 1;
    }
    return 0;
}

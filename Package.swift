// swift-tools-version: 6.0
// QKForge: a Swift generator of spiking-attention accelerators in Verilog-2005.
//
// One target per layer, lowest first. A layer imports only layers listed before it,
// and the golden model imports no hardware layer at all, so that it can check them.
import PackageDescription

let package = Package(
    name: "QKForge",
    products: [
        .executable(name: "qkforge", targets: ["CLI"]),
        .library(name: "HDL", targets: ["HDL"]),
    ],
    dependencies: [
        // The command line's parser (flags, --help, --version) for `qkforge`.
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // GMP, for simulator values wider than 64 bits.
        .systemLibrary(name: "CGMP", pkgConfig: "gmp",
                       providers: [.apt(["libgmp-dev"])]),
        // What a block or network is, as data: configs, integer layers (weights, biases, neurons,
        // thresholds), stream formats and composition (chain, residual); random seeded weights and
        // bundle import (float to integer); `.npy` I/O and the one seeded RNG. Imports no other layer.
        .target(name: "Description"),
        // HDL core: IR, elaboration passes, Verilog-2005 emission, IR simulation.
        .target(name: "HDL", dependencies: ["CGMP", "Description"]),
        // Spiking block library: LIF banks, summation trees, masks, router, accumulator.
        .target(name: "Blocks", dependencies: ["Description", "HDL"]),
        // Golden model: plain Swift from SPEC.md alone. Imports no hardware layer.
        .target(name: "Golden", dependencies: ["Description"]),
        // Co-simulation: the Verilator harness and the RTL-versus-golden comparison.
        .target(name: "Cosim", dependencies: ["Description", "HDL", "Blocks", "Golden"]),
        // Cost model: resources, cycles and energy without synthesis.
        .target(name: "Estimator", dependencies: ["Description", "HDL", "Blocks"]),
        // The `qkforge` command line.
        .executableTarget(name: "CLI", dependencies: ["Description", "HDL", "Blocks", "Golden", "Cosim", "Estimator",
                                                      .product(name: "ArgumentParser", package: "swift-argument-parser")]),

        .testTarget(name: "DescriptionTests", dependencies: ["Description"]),
        .testTarget(name: "HDLTests", dependencies: ["Description", "HDL"],
                    exclude: ["Golden"]),
        .testTarget(name: "BlocksTests", dependencies: ["Description", "HDL", "Blocks"]),
        .testTarget(name: "GoldenTests", dependencies: ["Description", "Golden"], exclude: ["lif_float_reference.py", "Fixtures"]),
        .testTarget(name: "CosimTests", dependencies: ["Description", "HDL", "Blocks", "Golden", "Cosim"]),
        .testTarget(name: "EstimatorTests", dependencies: ["Description", "HDL", "Blocks", "Golden", "Cosim", "Estimator"]),
    ],
    swiftLanguageModes: [.v5]
)

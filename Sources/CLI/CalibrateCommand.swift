import Foundation

/// `qkforge calibrate`: the estimator against Yosys synthesis.
enum CalibrateCommand {
    static let values: Set<String> = []
    static let switches: Set<String> = []
    static let summary = ": compare the resource estimate with Yosys synth_xilinx"
    static func run(_ args: Arguments) throws {
        throw Failure(message: "calibrate is being written (issue 5)", code: 1)
    }
}

import Foundation

/// `qkforge estimate`: resources, cycles, latency and energy without synthesis.
enum EstimateCommand {
    static let values: Set<String> = ModelCommands.modelFlags
    static let switches: Set<String> = ["json"]
    static let summary = "--model NAME|CONFIG.json [--block qkta|qkca] [--stage S] [--lanes P] [--json]: resources, cycles, latency and energy without synthesis"
    static func run(_ args: Arguments) throws {
        throw Failure(message: "estimate is being written (issue 5)", code: 1)
    }
}

/// Why a design cannot be simulated, or why a port access was refused.
public struct SimulationError: Error, CustomStringConvertible, Sendable {
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { "simulation error: \(message)" }
}

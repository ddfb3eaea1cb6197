import Foundation

/// Which Q-K attention a block computes.
public enum AttentionKind: String, Hashable, Sendable, CaseIterable {
    /// Q-K token attention: row sums per token and head, a token mask.
    case token = "qkta"
    /// Q-K channel attention: column sums per channel over all tokens, a channel mask.
    case channel = "qkca"
}

extension AttentionKind {
    /// Runs the block of this kind on one sample.
    public func run(_ p: AttentionBlockParameters, input: SpikeTensor) throws -> AttentionTrace {
        switch self {
        case .token: return try QKTA.run(p, input: input)
        case .channel: return try QKCA.run(p, input: input)
        }
    }
}

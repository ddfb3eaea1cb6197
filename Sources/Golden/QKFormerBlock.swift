import Foundation

/// The integer parameters of one QKFormer block (docs/arithmetic.md §5, §6): Q-K attention (QKTA or
/// QKCA) and the MLP, joined by two SEW residual adds.
public struct QKFormerBlockParameters: Hashable, Sendable {
    /// `.token` (QKTA) or `.channel` (QKCA).
    public let attentionKind: AttentionKind
    public let attention: AttentionBlockParameters
    public let mlp: MLPParameters
    /// The largest count on the block input (docs/arithmetic.md §5: 2 + 2b for block b of a stage). `x1`
    /// holds counts up to `maxInputCount + 1`, the output up to `maxInputCount + 2`.
    public let maxInputCount: Int

    public init(attentionKind: AttentionKind, attention: AttentionBlockParameters, mlp: MLPParameters,
                maxInputCount: Int) throws {
        guard mlp.dim == attention.dim else {
            throw GoldenError(field: "mlp.dim", "is \(mlp.dim) but the attention has dim \(attention.dim); both halves of a block have the same C")
        }
        guard mlp.timeSteps == attention.timeSteps else {
            throw GoldenError(field: "mlp.timeSteps", "is \(mlp.timeSteps) but the attention has T = \(attention.timeSteps)")
        }
        guard (0...253).contains(maxInputCount) else {
            throw GoldenError(field: "maxInputCount", "must be in 0...253 so that the output count maxInputCount + 2 fits uint8, got \(maxInputCount)")
        }
        // Range analysis up front, as the hardware is sized: Q and K read counts up to
        // maxInputCount, fc1 reads x1 (up to maxInputCount + 1); every LIF must be provable.
        _ = try wrap("attention.q") { try attention.q.makeBank(groups: 1, maxCount: UInt8(maxInputCount)) }
        _ = try wrap("attention.k") { try attention.k.makeBank(groups: 1, maxCount: UInt8(maxInputCount)) }
        _ = try wrap("attention.proj") { try attention.proj.makeBank(groups: 1, maxCount: 1) }
        _ = try wrap("mlp") { try mlp.banks(maxCount: UInt8(maxInputCount + 1)) }
        self.attentionKind = attentionKind
        self.attention = attention
        self.mlp = mlp
        self.maxInputCount = maxInputCount
    }
}

/// Everything one QKFormer block computed for one sample.
public struct QKFormerBlockTrace: Hashable, Sendable {
    /// `Attn(x)`.
    public var attention: AttentionTrace
    /// `x1 = x + Attn(x)`, counts `0...maxInputCount + 1`.
    public var x1: SpikeTensor
    /// `MLP(x1)`.
    public var mlp: MLPTrace
    /// `x2 = x1 + MLP(x1)`, counts `0...maxInputCount + 2`.
    public var output: SpikeTensor
}

/// The golden QKFormer block: `x1 = x + Attn(x)`, `x2 = x1 + MLP(x1)` (docs/arithmetic.md §6; no norm, no
/// drop-path).
public enum QKFormerBlock {
    /// Runs one sample, `input` `[T][N][C]` counts in `0...maxInputCount`.
    public static func run(_ p: QKFormerBlockParameters, input: SpikeTensor) throws -> QKFormerBlockTrace {
        let n = try p.attention.tokens(of: input)
        let c = p.attention.dim
        if let i = input.scalars.firstIndex(where: { Int($0) > p.maxInputCount }) {
            throw GoldenError(field: "input",
                              "count \(input.scalars[i]) at time step \(i / (n * c)), token \((i / c) % n), channel \(i % c) exceeds maxInputCount \(p.maxInputCount); set maxInputCount to the largest count on the block input")
        }
        let attention = try wrap("attention") { try p.attentionKind.run(p.attention, input: input) }
        let x1 = try wrap("x1") { try SEWResidual.add(input, attention.output, maxCount: p.maxInputCount + 1) }
        let mlp = try wrap("mlp") { try MLP.run(p.mlp, input: x1, maxCount: p.maxInputCount + 1) }
        let x2 = try wrap("x2") { try SEWResidual.add(x1, mlp.output, maxCount: p.maxInputCount + 2) }
        return QKFormerBlockTrace(attention: attention, x1: x1, mlp: mlp, output: x2)
    }
}

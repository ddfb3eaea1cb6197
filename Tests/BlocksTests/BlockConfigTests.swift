import Description
import Foundation
import Testing
@testable import Blocks

/// Named configs (docs/arithmetic.md §7) and `config.json` (docs/formats.md): values, overrides, and one clear error
/// per bad field.
@Suite struct BlockConfigTests {
    @Test func namedConfigsMatchTheSpecTable() throws {
        let c = try BlockConfig.named("hst-10-384", stage: 2, index: 1)
        #expect(c.dim == 192 && c.heads == 6 && c.tokens == 784 && c.timeSteps == 4 && c.block == .qkta)
        #expect(c.headDim == 32)
        let d = try BlockConfig.named("hst-2-256", stage: 1)
        #expect(d.dim == 128 && d.heads == 16 && d.tokens == 256 && d.timeSteps == 16 && d.headDim == 8)
        #expect(try BlockConfig.named("hst-2-256", stage: 2).block == .ssa)
        #expect(try BlockConfig.named("hst-4-384", stage: 3, index: 1).block == .ssa)
        #expect(try BlockConfig.named("hst-10-768", stage: 1).dim == 192)
    }

    @Test func everyNamedStageValidates() throws {
        for m in ModelConfig.named {
            for s in 1...m.stages {
                for i in 0..<m.blocksPerStage[s - 1] {
                    _ = try BlockConfig.named(m.name, stage: s, index: i)
                }
            }
        }
    }

    @Test func jsonFieldsOverrideTheNamedModel() throws {
        let json = #"{"model": "hst-4-384", "stage": 2, "block": "qkca", "tokens": 16, "quantization": {"weightBits": 6, "perChannel": false, "decayFractionBits": 2}, "bnEps": 1e-3}"#
        let c = try BlockConfig.parse(json: Data(json.utf8))
        #expect(c.dim == 192 && c.tokens == 16 && c.block == .qkca && c.heads == 8)
        #expect(c.quantization.weightBits == 6 && !c.quantization.perChannel && c.quantization.decayFractionBits == 2)
        #expect(c.bnEps == 1e-3)
    }

    @Test func bnEpsZeroIsAcceptedAsPyTorchAllowsIt() throws {
        let c = try BlockConfig.parse(json: Data(#"{"model": "hst-4-384", "bnEps": 0}"#.utf8))
        #expect(c.bnEps == 0)
    }

    @Test func fieldsWithoutAModel() throws {
        let c = try BlockConfig.parse(json: Data(#"{"dim": 32, "heads": 4, "tokens": 9, "timeSteps": 2}"#.utf8))
        #expect(c.model == nil && c.dim == 32 && c.headDim == 8 && c.block == .qkta && c.quantization.decayFractionBits == nil)
    }

    /// Every timeSteps the validator accepts builds a valid configuration; with exact decay up to 32,
    /// beyond that with decayFractionBits given. Keys that repeat only in different objects are fine.
    @Test func acceptedTimeStepsAndNestedKeys() throws {
        for t in [1, 32] { #expect(try BlockConfig.parse(json: Data(#"{"model": "hst-4-384", "timeSteps": \#(t)}"#.utf8)).timeSteps == t) }
        for t in [33, 56, 64] {
            let c = try BlockConfig.parse(json: Data(#"{"model": "hst-4-384", "timeSteps": \#(t), "quantization": {"decayFractionBits": 32}}"#.utf8))
            #expect(c.timeSteps == t)
        }
        let nested = try BlockConfig.parse(json: Data(#"{"model": "hst-4-384", "quantization": {"weightBits": 6}, "stage": 1, "dim": 96}"#.utf8))
        #expect(nested.quantization.weightBits == 6)
    }

    @Test(arguments: [
        (#"{"model": "hst-4-384", "colour": 1}"#, "colour", "is not a config field"),
        (#"{"model": "hst-9-999"}"#, "model", "unknown model 'hst-9-999'; choose one of"),
        (#"{"model": "hst-4-384", "heads": 7}"#, "heads", "7 heads do not divide dim 96"),
        (#"{"model": "hst-4-384", "stage": 4}"#, "stage", "stages 1 to 3"),
        (#"{"model": "hst-4-384", "stage": 1, "index": 1}"#, "index", "blocks 0 to 0"),
        (#"{"model": "hst-4-384", "tokens": "many"}"#, "tokens", "must be a whole number"),
        (#"{"model": "hst-4-384", "tokens": 2.5}"#, "tokens", "must be a whole number"),
        (#"{"model": "hst-4-384", "block": "conv"}"#, "block", "must be one of qkta, qkca, ssa, qkformer-block, mlp"),
        (#"{"model": "hst-4-384", "quantization": {"weightBits": 1}}"#, "quantization.weightBits", "from 2 to 16"),
        (#"{"model": "hst-4-384", "quantization": {"bits": 8}}"#, "quantization.bits", "is not a quantization field"),
        (#"{"model": "hst-4-384", "quantization": {"perChannel": 1}}"#, "quantization.perChannel", "true or false"),
        (#"{"dim": 32, "heads": 4}"#, "tokens", "is required when no \"model\" is named"),
        (#"{"model": "hst-4-384""#, "config.json", "is not valid JSON"),
        (#"[1, 2]"#, "config.json", "must be one JSON object"),
        (#"{"model": "hst-4-384", "timeSteps": 0}"#, "timeSteps", "from 1 to 64"),
        (#"{"model": "hst-4-384", "bnEps": -1e-5}"#, "bnEps", "must be a finite number >= 0"),
        (#"{"model": "hst-4-384", "dim": 96, "dim": 192}"#, "dim", "is given twice"),
        (#"{"model": "hst-4-384", "quantization": {"weightBits": 8, "weightBits": 4}}"#, "quantization.weightBits", "is given twice"),
        (#"{"model": "hst-4-384", "timeSteps": 33}"#, "timeSteps", "set quantization.decayFractionBits to 32 or less"),
        (#"{"model": "hst-4-384", "timeSteps": 64}"#, "timeSteps", "E = T = 64"),
    ])
    func badFieldsAreNamed(json: String, field: String, message: String) {
        do {
            _ = try BlockConfig.parse(json: Data(json.utf8))
            Issue.record("\(json) should be rejected")
        } catch let e as ConfigError {
            #expect(e.field == field, "\(e)")
            #expect(e.message.contains(message), "\(e)")
            #expect(!e.description.contains("\n"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}

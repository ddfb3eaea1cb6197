#!/usr/bin/env python3
"""Fixtures of the SSA cross-check: spikingjelly 2.0.0's `layer.attention.SpikingSelfAttention`
alone and inside `model.qkformer._Block(self_attention=True)` (SSA, then `_MLP`, with the two SEW
residual adds), in exact mode, exported as QKForge bundles with inputs and spikingjelly's outputs.
Tests/GoldenTests/SSAFixtureTests.swift runs the golden model on each and asserts every output
count and every attention-neuron spike equal. crosscheck.py's `ssa` part builds further cases
with these functions and checks `qkforge golden` (and `qkforge simulate`, once SSA hardware exists).

Exact mode as tools/crosscheck/blocks.py: every conv + BatchNorm folds exactly onto an 8-bit
per-channel grid and E = T*k; `attn_lif` gets `0.125 * c` with `c` an integer below 2^24, so
spikingjelly's float32 is exact too. Odd shapes: d = C/h not a power of two, N odd, T 1...8;
block inputs hold counts up to 6.

Cases (Tests/GoldenTests/Fixtures/ssa/<case>/):
  bundle/config.json, bundle/tensors/<key>.npy   the bundle (docs/formats.md)
  x.npy     uint8 [B, T, N, C]  inputs
  attn.npy  uint8 [B, T, N, C]  attn_lif's spikes (channel c = lane c % d of head c / d)
  x1.npy    uint8 [B, T, N, C]  x + SSA(x) (blocks only)
  y.npy     uint8 [B, T, N, C]  the output: SSA(x) alone, or x1 + MLP(x1)
  expected.json                 fraction bits per layer, prefix, skipped keys
Key layouts: spikingjelly's (bare, and stage3.1 of part of a whole QKFormer state_dict) and the
QKFormer authors' (`attn.*` with the imagenet MLP names, `ssa.*` with the cifar ones), converted
from the same spikingjelly module, so spikingjelly's output is the reference for all.

  python tools/crosscheck/ssa.py            # (re)write the fixtures
  python tools/crosscheck/ssa.py --check    # regenerate in a temporary folder, compare bytes
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from typing import Dict, List, Tuple

import numpy as np

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import blocks  # noqa: E402  (exact layers, inputs, bundle writing; sets torch single-threaded)
import torch  # noqa: E402

from spikingjelly.activation_based import functional  # noqa: E402
from spikingjelly.activation_based.layer.attention import SpikingSelfAttention  # noqa: E402
from spikingjelly.activation_based.model.qkformer import QKFormer, _Block  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "Tests", "GoldenTests", "Fixtures", "ssa")
SAMPLES = 2

# name, kind (ssa alone or block), C, heads, N, T, largest input count, key layout, stage, index
CASES: List[Tuple[str, str, int, int, int, int, int, str, int, int]] = [
    ("sj-ssa-c15-h3-n7-t1", "ssa", 15, 3, 7, 1, 1, "spikingjelly", 3, 0),
    ("sj-ssa-c12-h2-n9-t3", "ssa", 12, 2, 9, 3, 1, "spikingjelly", 3, 0),
    ("authors-ssa-c18-h3-n5-t8", "ssa", 18, 3, 5, 8, 1, "authors-imagenet", 3, 0),
    ("sj-ssa-c14-h2-n11-t6", "ssa", 14, 2, 11, 6, 1, "spikingjelly", 3, 0),
    ("sj-block-c12-h2-n7-t2", "block", 12, 2, 7, 2, 6, "spikingjelly", 3, 2),
    ("sj-block-c21-h3-n5-t7", "block", 21, 3, 5, 7, 6, "spikingjelly", 3, 2),
    ("authors-imagenet-block-c15-h5-n9-t4", "block", 15, 5, 9, 4, 6, "authors-imagenet", 3, 2),
    ("authors-cifar-block-c10-h2-n11-t5", "block", 10, 2, 11, 5, 4, "authors-cifar", 3, 1),
    ("model-stage3.1-block-c36-h4-n7-t3", "block", 36, 4, 7, 3, 4, "model", 3, 1),
]


def make_exact_ssa(at, rng: np.random.Generator, qkv_bias=(-0.5, 2.0)) -> Dict[str, List[int]]:
    """Exact weights for a SpikingSelfAttention; returns the grids of q, k, v and proj. Biases
    high enough that Q, K and V fire often, so `c = Q S` reaches the attention threshold."""
    c = at.dim
    qkv = blocks.set_exact_layer(at.qkv_conv_bn[0], at.qkv_conv_bn[1], rng, qkv_bias)
    pf = blocks.set_exact_layer(at.proj_conv_bn[0], at.proj_conv_bn[1], rng, (-1.0, 2.5))
    return {"q": qkv[:c], "k": qkv[c:2 * c], "v": qkv[2 * c:], "proj": pf}


def make_exact_block(blk, rng: np.random.Generator, qkv_bias=(-0.5, 2.0)) -> Dict[str, List[int]]:
    fs = make_exact_ssa(blk.attn, rng, qkv_bias)
    fs["fc1"] = blocks.set_exact_layer(blk.mlp.fc1, blk.mlp.bn1, rng, (-2.5, 1.0))
    fs["fc2"] = blocks.set_exact_layer(blk.mlp.fc2, blk.mlp.bn2, rng, (-1.5, 2.0))
    return fs


def authors_ssa_keys(sd: Dict[str, torch.Tensor], c: int, stem: str) -> Dict[str, torch.Tensor]:
    """The authors' `Spiking_Self_Attention` keys (under `stem`, e.g. 'stage3.0.attn.') for the
    same function as spikingjelly's SSA state_dict `sd` (keys relative to the SSA): Q, K, V split
    out of the fused conv; the proj conv gets a bias and its BN's running mean grows by it."""
    out: Dict[str, torch.Tensor] = {}
    for name, rows in (("q", slice(0, c)), ("k", slice(c, 2 * c)), ("v", slice(2 * c, 3 * c))):
        out[f"{stem}{name}_conv.weight"] = sd["qkv_conv_bn.0.weight"][rows].clone()
        for p in ("weight", "bias", "running_mean", "running_var"):
            out[f"{stem}{name}_bn.{p}"] = sd[f"qkv_conv_bn.1.{p}"][rows].clone()
        out[f"{stem}{name}_bn.num_batches_tracked"] = torch.tensor(0)
    mean = sd["proj_conv_bn.1.running_mean"]
    out[f"{stem}proj_conv.weight"] = sd["proj_conv_bn.0.weight"].clone()
    out[f"{stem}proj_conv.bias"] = 0.5 * mean
    for p in ("weight", "bias", "running_var"):
        out[f"{stem}proj_bn.{p}"] = sd[f"proj_conv_bn.1.{p}"].clone()
    out[f"{stem}proj_bn.running_mean"] = 1.5 * mean
    out[f"{stem}proj_bn.num_batches_tracked"] = torch.tensor(0)
    return out


def authors_block_keys(sd: Dict[str, torch.Tensor], c: int, mlp_names: str, prefix: str) -> Dict[str, torch.Tensor]:
    """A whole `SpikingTransformer` (authors' stage-3 block): `attn.` + fc1_conv names (imagenet)
    or `ssa.` + mlp1_conv names (cifar)."""
    stem = prefix + ("attn." if mlp_names == "imagenet" else "ssa.")
    out = authors_ssa_keys({k[5:]: v for k, v in sd.items() if k.startswith("attn.")}, c, stem)
    names = {"imagenet": (("fc1_conv", "fc1_bn"), ("fc2_conv", "fc2_bn")),
             "cifar": (("mlp1_conv", "mlp1_bn"), ("mlp2_conv", "mlp2_bn"))}[mlp_names]
    for (conv, bn), (sj_conv, sj_bn) in zip(names, (("fc1", "bn1"), ("fc2", "bn2"))):
        out[f"{prefix}mlp.{conv}.weight"] = sd[f"mlp.{sj_conv}.weight"].clone().unsqueeze(-1)
        out[f"{prefix}mlp.{conv}.bias"] = sd[f"mlp.{sj_conv}.bias"].clone()
        for p in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked"):
            out[f"{prefix}mlp.{bn}.{p}"] = sd[f"mlp.{sj_bn}.{p}"].clone()
    return out


def run_module(mod, ssa, x: np.ndarray, block: bool) -> Dict[str, np.ndarray]:
    """x uint8 [B, T, N, C]; spikingjelly wants [T, B, C, N]. One sample at a time, reset_net
    between samples. Returns uint8 [B, T, N, C]: attn (attn_lif spikes), y, and x1 for a block."""
    got = {}
    hooks = [ssa.attn_lif.register_forward_hook(lambda m, i, o: got.__setitem__("attn", o))]
    if block:
        hooks.append(ssa.register_forward_hook(lambda m, i, o: got.__setitem__("ssa", o)))
    out: Dict[str, list] = {"attn": [], "y": [], "x1": []}
    try:
        with torch.no_grad():
            for b in range(x.shape[0]):
                functional.reset_net(mod)
                xs = torch.from_numpy(x[b].transpose(0, 2, 1).astype(np.float32)).unsqueeze(1)  # [T,1,C,N]
                y = mod(xs)[:, 0].numpy().transpose(0, 2, 1)
                a = got["attn"]                     # [T, 1, H, d, N]
                t_, _, h, d, n = a.shape
                out["attn"].append(a[:, 0].reshape(t_, h * d, n).numpy().transpose(0, 2, 1))
                out["y"].append(y)
                if block:
                    out["x1"].append(x[b].astype(np.float32) + got["ssa"][:, 0].numpy().transpose(0, 2, 1))
    finally:
        for hk in hooks:
            hk.remove()
        functional.reset_net(mod)
    res = {}
    for k, v in out.items():
        if not v:
            continue
        a = np.stack(v)
        assert np.all(a == np.round(a)) and a.min() >= 0 and a.max() <= 255, f"spikingjelly {k} is not a count"
        res[k] = a.astype(np.uint8)
    return res


def build_case(case) -> Tuple[object, object, Dict[str, torch.Tensor], Dict[str, List[int]], str, str, np.ndarray]:
    """The module under test, its SSA, the state_dict to export, the grids, the prefix, the
    config layout, and the inputs."""
    name, kind, c, h, n, t, max_in, layout, stage, index = case
    s = blocks.sub_seed("ssa", name)
    rng = np.random.default_rng(s)
    torch.manual_seed(s)
    if layout == "model":
        # part of a whole spikingjelly QKFormer: stage dims 9/18/36, stage3 block `index` exact,
        # every other tensor seeded noise; stage2, stage3 and head keys exported
        model = QKFormer(T=t, num_classes=3, embed_dims=c, num_heads=(3, 3, h), depths=(1, 1, index + 1)).eval()
        blocks.fill_random(model, rng)
        mod = getattr(model, f"stage{stage}")[index]
        assert mod.attn.dim == c and mod.attn.num_heads == h
        fs = make_exact_block(mod, rng)
        sd = {k: v for k, v in model.state_dict().items() if k.startswith(("stage2.", "stage3.", "head."))}
        return mod, mod.attn, sd, fs, f"stage{stage}.{index}.", "spikingjelly", blocks.block_inputs(rng, t, n, c, max_in)
    if kind == "ssa":
        mod = SpikingSelfAttention(c, h)
        ssa = mod
        fs = make_exact_ssa(mod, rng, (1.5, 4.0))   # 0/1 inputs: biases carry the firing
    else:
        mod = _Block(c, h, 4.0, "token", True, None, {})
        ssa = mod.attn
        fs = make_exact_block(mod, rng)
    functional.set_step_mode(mod, "m")
    mod.eval()
    sd = dict(mod.state_dict())
    if layout == "spikingjelly":
        prefix, cfg_layout = "", "spikingjelly"
    elif kind == "ssa":
        prefix, cfg_layout = f"stage{stage}.{index}.attn.", "qkformer"
        sd = authors_ssa_keys(sd, c, prefix)
    else:
        prefix, cfg_layout = f"stage{stage}.{index}.", "qkformer"
        sd = authors_block_keys(sd, c, layout.split("-")[1], prefix)
        sd[f"stage{stage}.{index + 1}.attn.q_conv.weight"] = torch.zeros(c, c, 1)   # another block's, skipped
    if kind == "ssa":
        x = (rng.random((SAMPLES, t, n, c)) < rng.uniform(0.3, 0.6)).astype(np.uint8)
    else:
        x = blocks.block_inputs(rng, t, n, c, max_in)
    return mod, ssa, sd, fs, prefix, cfg_layout, x


def make_case(out: str, case) -> str:
    name, kind, c, h, n, t, max_in, layout, stage, index = case
    mod, ssa, sd, fs, prefix, cfg_layout, x = build_case(case)
    r = run_module(mod, ssa, x, kind != "ssa")
    d = os.path.join(out, name)
    config = {"block": "ssa" if kind == "ssa" else "qkformer-block", "stage": stage, "index": index, "dim": c,
              "heads": h, "tokens": n, "timeSteps": t, "layout": cfg_layout, "bnEps": blocks.EPS,
              "quantization": {"weightBits": 8, "perChannel": True}}
    if kind != "ssa":
        config.update({"attention": "ssa", "mlpRatio": 4, "maxInputCount": max_in})
    blocks.write_bundle(os.path.join(d, "bundle"), sd, config)
    blocks.save(os.path.join(d, "x.npy"), x)
    for k, v in r.items():
        blocks.save(os.path.join(d, f"{k}.npy"), v)
    skipped = sorted(k for k in sd if not k.startswith(prefix) or k.endswith("num_batches_tracked"))
    with open(os.path.join(d, "expected.json"), "w") as f:
        json.dump({"prefix": prefix, "fractionBits": fs, "skipped": skipped}, f, sort_keys=True)
        f.write("\n")
    return (f"{name}: attn_lif rate {float(np.mean(r['attn'])):.3f}, output rate {float(np.mean(r['y'])):.3f}, "
            f"output counts 0..{int(r['y'].max())}")


def generate(out: str) -> None:
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    for case in CASES:
        print("  " + make_case(out, case))
    with open(os.path.join(out, "cases.txt"), "w") as f:
        f.write("".join(c[0] + "\n" for c in CASES))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--check", action="store_true", help="regenerate into a temporary folder and compare with the committed fixtures")
    a = p.parse_args()
    from importlib.metadata import version
    print(f"ssa: spikingjelly {version('spikingjelly')}, torch {torch.__version__}, numpy {np.__version__}; seed {blocks.SEED}")
    if not a.check:
        generate(OUT)
        total = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(OUT) for f in fs)
        print(f"ssa: wrote {len(CASES)} cases to {os.path.relpath(OUT, ROOT)} ({total} bytes)")
        return 0
    tmp = tempfile.mkdtemp(prefix="ssa-check-")
    try:
        generate(os.path.join(tmp, "ssa"))
        diffs = blocks.same_tree(OUT, os.path.join(tmp, "ssa")) if os.path.isdir(OUT) else [OUT]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if diffs:
        print(f"ssa: FAIL {len(diffs)} fixture files differ from a fresh generation: {', '.join(os.path.relpath(d, ROOT) for d in diffs[:5])}")
        return 1
    print("ssa: the committed fixtures are byte-for-byte what the script writes")
    return 0


if __name__ == "__main__":
    sys.exit(main())

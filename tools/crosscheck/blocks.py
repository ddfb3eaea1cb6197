#!/usr/bin/env python3
"""Fixtures of the QKFormer block cross-check: spikingjelly 2.0.0's own block
(`spikingjelly.activation_based.model.qkformer._Block`: QKAttention, token or channel, then
`_MLP`, with the two SEW residual adds) in exact mode, exported as QKForge bundles together
with block inputs and spikingjelly's outputs. Tests/GoldenTests/QKFormerBlockFixtureTests.swift
runs the golden QKFormerBlock on each and asserts every output count equal.

Exact mode: every conv + BatchNorm folds exactly onto an 8-bit per-channel grid (BN eps 2^-16,
var + eps a power of 4, gammas other than 1 and negative, non-zero means and betas, conv biases
on the grid for the MLP), and E = T*k (decayFractionBits left to its default), so the integer
model must equal the float model bit for bit. Inputs hold counts 0..maxInputCount (up to 4);
shapes are odd (C not a power of two, N odd, T from 1 to 4).

Cases (Tests/GoldenTests/Fixtures/blocks/<case>/):
  bundle/config.json, bundle/tensors/<key>.npy   the bundle (bundle config fields only, docs/formats.md)
  x.npy   uint8 [B, T, N, C]  block inputs
  x1.npy  uint8 [B, T, N, C]  x + Attn(x) from spikingjelly
  y.npy   uint8 [B, T, N, C]  the block output x1 + MLP(x1) from spikingjelly
  expected.json              fraction bits per layer (what the importer must find), skipped keys
Key layouts: spikingjelly's own (a bare _Block, and a stage2 block picked out of part of a
whole QKFormer state_dict, num_batches_tracked included) and the QKFormer authors' keys
(`tssa.*` with the imagenet `mlp.fc1_conv` [4C, C, 1, 1] or the cifar `mlp.mlp1_conv` names),
converted from the same spikingjelly block, so spikingjelly's output is the reference for both.

  python tools/crosscheck/blocks.py            # (re)write the fixtures
  python tools/crosscheck/blocks.py --check    # regenerate in a temporary folder, compare bytes

Fixed seeds: the output is the same bytes on every run (torch single-threaded, CPU, float32).
"""
from __future__ import annotations

import argparse
import filecmp
import json
import os
import shutil
import sys
import tempfile
import zlib
from typing import Dict, List, Tuple

import numpy as np

sys.dont_write_bytecode = True
import torch  # noqa: E402

torch.set_num_threads(1)
try:
    torch.set_num_interop_threads(1)
except RuntimeError:  # already set by the importer (crosscheck.py imports this for its ssa part)
    pass

from spikingjelly.activation_based import functional  # noqa: E402
from spikingjelly.activation_based.model.qkformer import QKFormer, _Block  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "Tests", "GoldenTests", "Fixtures", "blocks")
EPS = 2.0 ** -16    # var + eps is exactly a power of 4 in float32 and float64
SEED = 2026
SAMPLES = 2

# name, attention kind, C, heads, N, T, maxInputCount, key layout, stage, index
CASES: List[Tuple[str, str, int, int, int, int, int, str, int, int]] = [
    ("sj-qkta-c12-h3-n7-t1", "token", 12, 3, 7, 1, 4, "spikingjelly", 1, 0),
    ("sj-qkca-c20-h4-n9-t2", "channel", 20, 4, 9, 2, 4, "spikingjelly", 1, 0),
    ("sj-qkta-c24-h6-n5-t3", "token", 24, 6, 5, 3, 2, "spikingjelly", 1, 0),
    ("sj-qkca-c12-h2-n9-t4", "channel", 12, 2, 9, 4, 4, "spikingjelly", 1, 0),
    ("authors-imagenet-qkta-c20-h5-n7-t4", "token", 20, 5, 7, 4, 3, "authors-imagenet", 1, 0),
    ("authors-cifar-qkca-c12-h4-n5-t2", "channel", 12, 4, 5, 2, 4, "authors-cifar", 1, 0),
    ("model-stage2.1-qkta-c12-h3-n9-t3", "token", 12, 3, 9, 3, 4, "model", 2, 1),
]


def sub_seed(*parts) -> int:
    return zlib.crc32(repr((SEED,) + parts).encode()) & 0x7FFFFFFF


def set_exact_layer(conv, bn, rng: np.random.Generator, bias_range: Tuple[float, float]) -> List[int]:
    """Random conv (+ conv bias when it has one) and BN whose fold is exactly on an 8-bit
    per-channel grid 2^-f_o; folded bias of channel o uniform in bias_range (then on the grid).
    Returns f_o per output channel."""
    out_c, in_c = conv.weight.shape[:2]
    w = np.zeros((out_c, in_c))
    cb = np.zeros(out_c)
    gamma, beta, mean, var = (np.zeros(out_c) for _ in range(4))
    fs = []
    for o in range(out_c):
        f = int(rng.integers(5, 9))                  # folded weight grid 2^-f
        sign = -1 if rng.random() < 0.3 else 1        # negative gammas
        odd = int(rng.choice([1, 1, 3]))              # s = sign * odd * 2^a
        a = int(rng.integers(-1, 2))
        j = int(rng.integers(-1, 3))                  # var + eps = 4^j
        top = 127 // odd
        m = np.clip(np.round(rng.normal(0, 30 / odd, in_c)), -top, top).astype(np.int64)
        i0 = int(rng.integers(in_c))                  # |2k| leaves [-128, 127]: the grid is exactly 2^-f
        m[i0] = int(rng.choice([-1, 1])) * int(rng.integers(-(-65 // odd), top + 1))
        s = sign * odd * 2.0 ** a
        w[o] = m * 2.0 ** -(f + a)                    # s * w = sign*odd*m * 2^-f
        gamma[o] = s * 2.0 ** j
        var[o] = 4.0 ** j - EPS
        r = int(rng.integers(-200, 201))
        q = int(rng.integers(-60, 61)) if conv.bias is not None else 0
        mean[o] = r * 2.0 ** -(f + a)
        cb[o] = q * 2.0 ** -(f + a)                   # s * (b - mean) = sign*odd*(q - r) * 2^-f
        target = int(np.round(rng.uniform(*bias_range) * 2 ** f))
        beta[o] = (target - sign * odd * (q - r)) * 2.0 ** -f
        fs.append(f)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor(w, dtype=torch.float32).reshape(conv.weight.shape))
        if conv.bias is not None:
            conv.bias.copy_(torch.tensor(cb, dtype=torch.float32))
        bn.weight.copy_(torch.tensor(gamma, dtype=torch.float32))
        bn.bias.copy_(torch.tensor(beta, dtype=torch.float32))
        bn.running_mean.copy_(torch.tensor(mean, dtype=torch.float32))
        bn.running_var.copy_(torch.tensor(var, dtype=torch.float32))
    pairs = [(conv.weight, w), (bn.weight, gamma), (bn.bias, beta), (bn.running_mean, mean), (bn.running_var, var)]
    if conv.bias is not None:
        pairs.append((conv.bias, cb))
    for t, v in pairs:
        assert np.array_equal(t.detach().double().numpy().reshape(v.shape), v), "value not exact in float32"
    bn.eps = EPS
    return fs


def make_exact_block(blk, rng: np.random.Generator) -> Dict[str, List[int]]:
    """Exact weights for a spikingjelly _Block; returns the grids per quantized layer."""
    at, mlp = blk.attn, blk.mlp
    c = at.dim
    # Folded bias ranges (real units; threshold 1.0): Q sparse enough that masks vary, K and the
    # MLP layers mixed. Block inputs are counts up to 4, so fc1's currents are larger.
    qk = set_exact_layer(at.qk_conv_bn[0], at.qk_conv_bn[1], rng, (-1.5, 1.5))
    pf = set_exact_layer(at.proj_conv_bn[0], at.proj_conv_bn[1], rng, (-1.0, 2.5))
    f1 = set_exact_layer(mlp.fc1, mlp.bn1, rng, (-2.5, 1.0))
    f2 = set_exact_layer(mlp.fc2, mlp.bn2, rng, (-1.5, 2.0))
    return {"q": qk[:c], "k": qk[c:], "proj": pf, "fc1": f1, "fc2": f2}


def authors_keys(sd: Dict[str, torch.Tensor], c: int, mlp_names: str, prefix: str) -> Dict[str, torch.Tensor]:
    """The QKFormer authors' keys for the same function as spikingjelly's block state_dict sd:
    Q and K split out of the fused conv; the proj conv gets a bias delta and its BN's running
    mean grows by delta (folds to the same b'); the MLP convs become Conv2d [out, in, 1, 1]."""
    out: Dict[str, torch.Tensor] = {}
    t = prefix + "tssa."
    for name, rows in (("q", slice(0, c)), ("k", slice(c, 2 * c))):
        out[f"{t}{name}_conv.weight"] = sd["attn.qk_conv_bn.0.weight"][rows].clone()
        for p in ("weight", "bias", "running_mean", "running_var"):
            out[f"{t}{name}_bn.{p}"] = sd[f"attn.qk_conv_bn.1.{p}"][rows].clone()
        out[f"{t}{name}_bn.num_batches_tracked"] = torch.tensor(0)
    mean = sd["attn.proj_conv_bn.1.running_mean"]
    out[f"{t}proj_conv.weight"] = sd["attn.proj_conv_bn.0.weight"].clone()
    out[f"{t}proj_conv.bias"] = 0.5 * mean
    for p in ("weight", "bias", "running_var"):
        out[f"{t}proj_bn.{p}"] = sd[f"attn.proj_conv_bn.1.{p}"].clone()
    out[f"{t}proj_bn.running_mean"] = 1.5 * mean
    out[f"{t}proj_bn.num_batches_tracked"] = torch.tensor(0)
    names = {"imagenet": (("fc1_conv", "fc1_bn"), ("fc2_conv", "fc2_bn")),
             "cifar": (("mlp1_conv", "mlp1_bn"), ("mlp2_conv", "mlp2_bn"))}[mlp_names]
    for (conv, bn), (sj_conv, sj_bn) in zip(names, (("fc1", "bn1"), ("fc2", "bn2"))):
        out[f"{prefix}mlp.{conv}.weight"] = sd[f"mlp.{sj_conv}.weight"].clone().unsqueeze(-1)
        out[f"{prefix}mlp.{conv}.bias"] = sd[f"mlp.{sj_conv}.bias"].clone()
        for p in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked"):
            out[f"{prefix}mlp.{bn}.{p}"] = sd[f"mlp.{sj_bn}.{p}"].clone()
    for k, v in out.items():  # 1.5 * mean must stay exact
        if v.is_floating_point():
            assert torch.all(torch.isfinite(v))
    return out


def fill_random(module: torch.nn.Module, rng: np.random.Generator) -> None:
    """Seeded values for every float tensor (blocks not under test), independent of torch's RNG."""
    with torch.no_grad():
        for name, t in module.state_dict().items():
            if t.is_floating_point():
                v = rng.normal(0, 0.3, tuple(t.shape))
                if name.endswith("running_var"):
                    v = np.abs(v) + 0.5
                t.copy_(torch.tensor(v, dtype=torch.float32))


def block_inputs(rng: np.random.Generator, t: int, n: int, c: int, max_count: int) -> np.ndarray:
    """uint8 [B, T, N, C] counts, mostly small, every sample reaching max_count somewhere."""
    x = np.zeros((SAMPLES, t, n, c), dtype=np.uint8)
    for b in range(SAMPLES):
        p = rng.uniform(0.25, 0.6)
        nz = rng.random((t, n, c)) < p
        counts = rng.integers(1, max_count + 1, size=(t, n, c))
        x[b] = np.where(nz, counts, 0).astype(np.uint8)
        x[b].reshape(-1)[int(rng.integers(x[b].size))] = max_count
    return x


def run_block(blk, x: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """x uint8 [B, T, N, C]; spikingjelly wants [T, B, C, N]. One sample at a time, reset_net
    between samples. Returns (x1, y) uint8 [B, T, N, C]."""
    got = {}
    hook = blk.attn.register_forward_hook(lambda mod, i, o: got.__setitem__("attn", o))
    x1s, ys = [], []
    try:
        with torch.no_grad():
            for b in range(x.shape[0]):
                functional.reset_net(blk)
                xs = torch.from_numpy(x[b].transpose(0, 2, 1).astype(np.float32)).unsqueeze(1)  # [T,1,C,N]
                y = blk(xs)[:, 0].numpy().transpose(0, 2, 1)
                a = got["attn"][:, 0].numpy().transpose(0, 2, 1)
                x1s.append(x[b].astype(np.float32) + a)
                ys.append(y)
    finally:
        hook.remove()
        functional.reset_net(blk)
    x1, y = np.stack(x1s), np.stack(ys)
    for name, v in (("x1", x1), ("y", y)):
        assert np.all(v == np.round(v)) and v.min() >= 0 and v.max() <= 255, f"spikingjelly {name} is not a count"
    return x1.astype(np.uint8), y.astype(np.uint8)


def save(path: str, a: np.ndarray) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    np.save(path, a, allow_pickle=False)


def write_bundle(d: str, tensors: Dict[str, torch.Tensor], config: dict) -> None:
    for key in sorted(tensors):
        v = tensors[key].detach().cpu()
        a = v.numpy().astype("<f4") if v.is_floating_point() else v.numpy().astype("<i8")
        save(os.path.join(d, "tensors", key + ".npy"), np.ascontiguousarray(a))
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")


def make_case(out: str, case) -> str:
    name, kind, c, h, n, t, max_in, layout, stage, index = case
    s = sub_seed(name)
    rng = np.random.default_rng(s)
    torch.manual_seed(s)
    if layout == "model":
        # part of a whole spikingjelly QKFormer: stage dims 6/12/24; the chosen stage2 block
        # exact, every other tensor seeded noise; stage1, stage2 and head keys exported
        # (the patch embeddings and stage 3 are left out to keep the fixture small)
        model = QKFormer(T=t, num_classes=3, embed_dims=24, num_heads=(2, h, 3), depths=(1, 2, 1),
                         qka_type=kind).eval()
        fill_random(model, rng)
        blk = getattr(model, f"stage{stage}")[index]
        assert blk.attn.dim == c and blk.attn.num_heads == h
        fs = make_exact_block(blk, rng)
        sd = {k: v for k, v in model.state_dict().items() if k.startswith(("stage1.", "stage2.", "head."))}
        prefix, cfg_layout = f"stage{stage}.{index}.", "spikingjelly"
    else:
        blk = _Block(c, h, 4.0, kind, False, None, {})
        functional.set_step_mode(blk, "m")
        blk.eval()
        fs = make_exact_block(blk, rng)
        sd = dict(blk.state_dict())
        if layout == "spikingjelly":
            prefix, cfg_layout = "", "spikingjelly"
        else:
            prefix = f"stage{stage}.{index}."
            sd = authors_keys(sd, c, layout.split("-")[1], prefix)
            # another block's tensor (skipped by the importer)
            sd[f"stage{stage}.{index + 1}.tssa.q_conv.weight"] = torch.zeros(c, c, 1)
            cfg_layout = "qkformer"
    x = block_inputs(rng, t, n, c, max_in)
    x1, y = run_block(blk, x)
    d = os.path.join(out, name)
    config = {"block": "qkformer-block", "stage": stage, "index": index, "attention": kind, "dim": c,
              "heads": h, "tokens": n, "timeSteps": t, "mlpRatio": 4, "maxInputCount": max_in,
              "layout": cfg_layout, "bnEps": EPS, "quantization": {"weightBits": 8, "perChannel": True}}
    write_bundle(os.path.join(d, "bundle"), sd, config)
    save(os.path.join(d, "x.npy"), x)
    save(os.path.join(d, "x1.npy"), x1)
    save(os.path.join(d, "y.npy"), y)
    skipped = sorted(k for k in sd if not k.startswith(prefix) or k.endswith("num_batches_tracked"))
    with open(os.path.join(d, "expected.json"), "w") as f:
        json.dump({"seed": s, "prefix": prefix, "fractionBits": fs, "skipped": skipped}, f, sort_keys=True)
        f.write("\n")
    rate = lambda v: float(np.mean(v))
    mlp_out = (y.astype(int) - x1.astype(int))
    return (f"{name}: seed {s}, attention rate {rate(x1.astype(int) - x.astype(int)):.3f}, "
            f"MLP rate {rate(mlp_out):.3f}, output counts 0..{int(y.max())}")


def generate(out: str) -> None:
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    for case in CASES:
        print("  " + make_case(out, case))
    with open(os.path.join(out, "cases.txt"), "w") as f:
        f.write("".join(c[0] + "\n" for c in CASES))


def same_tree(a: str, b: str) -> List[str]:
    diffs = []
    cmp = filecmp.dircmp(a, b)
    diffs += [os.path.join(a, x) for x in cmp.left_only + cmp.right_only + cmp.funny_files]
    _, mismatch, errors = filecmp.cmpfiles(a, b, cmp.common_files, shallow=False)
    diffs += [os.path.join(a, x) for x in mismatch + errors]
    for sub in cmp.common_dirs:
        diffs += same_tree(os.path.join(a, sub), os.path.join(b, sub))
    return diffs


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--check", action="store_true", help="regenerate into a temporary folder and compare with the committed fixtures")
    a = p.parse_args()
    from importlib.metadata import version
    print(f"blocks: spikingjelly {version('spikingjelly')}, torch {torch.__version__}, numpy {np.__version__}; seed {SEED}")
    if not a.check:
        generate(OUT)
        total = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(OUT) for f in fs)
        print(f"blocks: wrote {len(CASES)} cases to {os.path.relpath(OUT, ROOT)} ({total} bytes)")
        return 0
    tmp = tempfile.mkdtemp(prefix="blocks-check-")
    try:
        generate(os.path.join(tmp, "blocks"))
        diffs = same_tree(OUT, os.path.join(tmp, "blocks")) if os.path.isdir(OUT) else [OUT]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if diffs:
        print(f"blocks: FAIL {len(diffs)} fixture files differ from a fresh generation: {', '.join(os.path.relpath(d, ROOT) for d in diffs[:5])}")
        return 1
    print("blocks: the committed fixtures are byte-for-byte what the script writes")
    return 0


if __name__ == "__main__":
    sys.exit(main())

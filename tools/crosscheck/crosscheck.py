#!/usr/bin/env python3
"""Cross-check QKForge against spikingjelly 2.0.0's QKAttention (token = QKTA, channel = QKCA).

Run through scripts/crosscheck.sh, which makes the venv and builds qkforge. Three parts:

exact   spikingjelly QKAttention with random weights on the 8-bit grid and BatchNorms that fold
        exactly (gammas other than 1, negative gammas, non-zero running means and betas, eps 2^-16,
        var + eps a power of 4), random 0/1 spikes, several T and shapes. Exported with
        tools/export_bundle.py, run through `qkforge golden` and `qkforge simulate`; every output
        spike must equal spikingjelly's (eval mode, torch backend, float32, CPU).
        `qkforge quantize --json` must report every layer exact, on the expected grids.
float   the same with torch's default conv init and random BatchNorm statistics, 8-bit per-channel
        quantization: reports spike agreement (end to end, and per layer from a NumPy model of
        docs/arithmetic.md) and the quantization report; asserts nothing about agreement.
bad     malformed bundles (missing tensor, wrong shape, truncated .npy, unknown config field):
        `qkforge golden --bundle` and `qkforge generate --bundle` must print one line starting with
        "qkforge: " on stderr, exit 2, and write nothing.

ssa     spikingjelly's SpikingSelfAttention and _Block(self_attention) in exact mode through
        `qkforge golden` (and `qkforge simulate` once SSA hardware exists; until then SKIPPED,
        never counted as passed); see part_ssa.

network whole networks (spikingjelly's QKFormer in exact mode; NumPy cifar/dvs embeddings from
        SPEC 4.3) through `qkforge golden --bundle NET --input images.npy`: logits to float
        rounding, classes equal; see tools/crosscheck/network.py.

Every random thing prints its seed; `--seed S` replays a run. Exit 1 on any exact-mode mismatch or
failed assertion.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import zlib
from typing import Dict, List, Optional, Tuple

import numpy as np

sys.dont_write_bytecode = True

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # tools/
sys.path.insert(0, HERE)

import torch  # noqa: E402

torch.set_num_threads(1)
torch.set_num_interop_threads(1)

from spikingjelly.activation_based import functional  # noqa: E402
from spikingjelly.activation_based.layer.attention import QKAttention  # noqa: E402

from export_bundle import export_module, export_state_dict  # noqa: E402
import intmodel  # noqa: E402

EPS = 2.0 ** -16  # 1.52587890625e-05: var + eps is exactly a power of 4 in float32 and float64
KINDS = {"token": "qkta", "channel": "qkca"}


class Failure(Exception):
    pass


def sub_seed(seed: int, *parts) -> int:
    return zlib.crc32(repr((seed,) + parts).encode()) & 0x7FFFFFFF


# ----------------------------------------------------------------------------------------------
# Weights

def set_exact_layer(conv: torch.nn.Conv1d, bn: torch.nn.BatchNorm1d, rng: np.random.Generator,
                    bias_ranges: List[Tuple[float, float]]) -> List[int]:
    """Random conv + BN whose fold is exactly on an 8-bit per-channel grid; folded bias of
    channel o uniform in bias_ranges[o] (then on the grid). Returns the grid's fraction bits F_o
    per output channel (what the importer must find)."""
    out_c, in_c = conv.weight.shape[:2]
    fs, w = [], np.zeros((out_c, in_c))
    gamma, beta, mean, var = (np.zeros(out_c) for _ in range(4))
    for o in range(out_c):
        f = int(rng.integers(5, 9))                 # folded weight grid 2^-f
        sign = -1 if rng.random() < 0.3 else 1       # negative gammas
        odd = int(rng.choice([1, 1, 3]))             # s = sign * odd * 2^a: gamma != 1 in general
        a = int(rng.integers(-1, 2))
        j = int(rng.integers(-1, 3))                 # var + eps = 4^j, sqrt = 2^j
        top = 127 // odd
        m = np.clip(np.round(rng.normal(0, 30 / odd, in_c)), -top, top).astype(np.int64)
        # one weight with |k| >= 65, so 2k leaves [-128, 127]: the finest grid is exactly 2^-f
        i0 = int(rng.integers(in_c))
        m[i0] = int(rng.choice([-1, 1])) * int(rng.integers(-(-65 // odd), top + 1))
        s = sign * odd * 2.0 ** a
        w[o] = m * 2.0 ** -(f + a)                   # s * w = sign*odd*m * 2^-f
        gamma[o] = s * 2.0 ** j
        var[o] = 4.0 ** j - EPS
        r = int(rng.integers(-200, 201))
        mean[o] = r * 2.0 ** -(f + a)                # s * (0 - mean) = -sign*odd*r * 2^-f
        target = int(np.round(rng.uniform(*bias_ranges[o]) * 2 ** f))  # folded bias on the grid
        beta[o] = (target + sign * odd * r) * 2.0 ** -f
        fs.append(f)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor(w, dtype=torch.float32).reshape(conv.weight.shape))
        bn.weight.copy_(torch.tensor(gamma, dtype=torch.float32))
        bn.bias.copy_(torch.tensor(beta, dtype=torch.float32))
        bn.running_mean.copy_(torch.tensor(mean, dtype=torch.float32))
        bn.running_var.copy_(torch.tensor(var, dtype=torch.float32))
    # the float32 copies must be the values meant
    for t, v in ((conv.weight, w), (bn.weight, gamma), (bn.bias, beta), (bn.running_mean, mean), (bn.running_var, var)):
        assert np.array_equal(t.detach().double().numpy().reshape(v.shape), v), "value not exact in float32"
    bn.eps = EPS
    return fs


def make_exact(c: int, heads: int, kind: str, rng: np.random.Generator) -> Tuple[QKAttention, Dict[str, List[int]]]:
    m = QKAttention(c, heads, qka_type=kind)
    qk_conv, qk_bn = m.qk_conv_bn[0], m.qk_conv_bn[1]
    # Folded biases: Q sparse enough that masks are not all ones, K and proj denser; a bias
    # of 2 or more makes a channel fire by itself at every step, below it the inputs decide.
    q_range, k_range, p_range = (-1.5, 1.2), (-1.0, 2.5), (-1.0, 3.0)
    fs = set_exact_layer(qk_conv, qk_bn, rng, [q_range] * c + [k_range] * c)
    pf = set_exact_layer(m.proj_conv_bn[0], m.proj_conv_bn[1], rng, [p_range] * c)
    return m.eval(), {"q": fs[:c], "k": fs[c:], "proj": pf}


def make_float(c: int, heads: int, kind: str, rng: np.random.Generator) -> QKAttention:
    m = QKAttention(c, heads, qka_type=kind)  # torch default conv init (seeded by torch.manual_seed)
    for bn in (m.qk_conv_bn[1], m.proj_conv_bn[1]):
        n = bn.num_features
        with torch.no_grad():
            g = rng.uniform(0.5, 2.0, n) * np.where(rng.random(n) < 0.2, -1, 1)
            bn.weight.copy_(torch.tensor(g, dtype=torch.float32))
            bn.bias.copy_(torch.tensor(rng.uniform(-0.3, 0.8, n), dtype=torch.float32))
            bn.running_mean.copy_(torch.tensor(rng.normal(0.0, 0.2, n), dtype=torch.float32))
            bn.running_var.copy_(torch.tensor(rng.uniform(0.02, 0.3, n), dtype=torch.float32))
    return m.eval()


# ----------------------------------------------------------------------------------------------
# Running

def run_spikingjelly(m: QKAttention, x: np.ndarray) -> Dict[str, np.ndarray]:
    """x: uint8 [B, T, N, C] (QKForge layout). spikingjelly wants [T, B, C, L]: transpose in and
    out. One sample at a time, reset_net between samples. Returns out [B,T,N,C], q, k [B,T,N,C]
    and the mask (token [B,T,N,heads], channel [B,T,C])."""
    got: Dict[str, torch.Tensor] = {}
    hooks = [m.qk_lif.register_forward_hook(lambda mod, i, o: got.__setitem__("qk", o)),
             m.attn_lif.register_forward_hook(lambda mod, i, o: got.__setitem__("attn", o))]
    b_, t_, n_, c_ = x.shape
    res = {k: [] for k in ("out", "q", "k", "mask")}
    try:
        with torch.no_grad():
            for b in range(b_):
                functional.reset_net(m)
                xs = torch.from_numpy(x[b].transpose(0, 2, 1).astype(np.float32)).unsqueeze(1)  # [T,1,C,L]
                y = m(xs)
                res["out"].append(y[:, 0].numpy().transpose(0, 2, 1))                         # [T,L,C]
                qk = got["qk"][:, 0].numpy().transpose(0, 2, 1)                              # [T,L,2C]
                res["q"].append(qk[..., :c_])
                res["k"].append(qk[..., c_:])
                a = got["attn"][:, 0].numpy()          # token [T,h,1,L]; channel [T,h,d,1]
                res["mask"].append(a[:, :, 0, :].transpose(0, 2, 1) if m.qka_type == "token"
                                   else a[..., 0].reshape(t_, c_))
    finally:
        for h in hooks:
            h.remove()
        functional.reset_net(m)
    out = {k: np.stack(v).astype(np.float32) for k, v in res.items()}
    for k, v in out.items():
        assert np.all((v == 0) | (v == 1)), f"spikingjelly {k} is not 0/1"
    return {k: v.astype(np.uint8) for k, v in out.items()}


class QKForge:
    def __init__(self, binary: str, verbose: bool):
        self.binary, self.verbose = binary, verbose
        self.seconds: Dict[str, float] = {}

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        t0 = time.time()
        p = subprocess.run([self.binary, *args], capture_output=True, text=True)
        self.seconds[args[0]] = self.seconds.get(args[0], 0.0) + time.time() - t0
        if self.verbose:
            print(f"    $ qkforge {' '.join(args)}  ->  exit {p.returncode} ({time.time() - t0:.1f} s)")
        if check and p.returncode != 0:
            tail = (p.stderr.strip() or p.stdout.strip()).splitlines()[-3:]
            raise Failure(f"qkforge {' '.join(args)} exited {p.returncode}: {' | '.join(tail)}")
        return p

    def spikes(self, cmd: str, bundle: str, x_path: str, y_path: str, extra=()) -> np.ndarray:
        if os.path.exists(y_path):
            os.remove(y_path)
        self.run(cmd, "--bundle", bundle, "--input", x_path, "--output", y_path, *extra)
        y = np.load(y_path)
        if y.dtype != np.uint8:
            raise Failure(f"qkforge {cmd} wrote dtype {y.dtype}, expected uint8")
        return y

    def quantize(self, bundle: str) -> dict:
        p = self.run("quantize", "--bundle", bundle, "--json")
        try:
            return json.loads(p.stdout)
        except json.JSONDecodeError as e:
            raise Failure(f"qkforge quantize --json printed no JSON ({e}): {p.stdout[:200]!r}")


def mismatches(name: str, want: np.ndarray, got: np.ndarray, show: int = 5) -> int:
    if want.shape != got.shape:
        print(f"    {name}: shape {list(got.shape)}, expected {list(want.shape)}")
        return max(want.size, 1)
    bad = np.argwhere(want != got)
    for b, t, n, c in bad[:show]:
        print(f"    {name} MISMATCH sample {b}, time step {t}, token {n}, channel {c}: "
              f"spikingjelly {want[b, t, n, c]}, qkforge {got[b, t, n, c]}")
    if len(bad) > show:
        print(f"    ... {len(bad) - show} more")
    return len(bad)


def agreement(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(a == b)) if a.shape == b.shape and a.size else float("nan")


def rates(d: Dict[str, np.ndarray]) -> str:
    return ", ".join(f"{k} {float(v.mean()):.3f}" for k, v in d.items())


def check_report(rep: dict, expect_exact: bool, fs: Optional[Dict[str, List[int]]], weight_bits: int) -> List[str]:
    problems = []
    for f in ("layout", "exactMode", "weightBits", "perChannel", "decayFractionBits", "layers"):
        if f not in rep:
            problems.append(f"quantize report has no '{f}'")
    if problems:
        return problems
    if rep["weightBits"] != weight_bits:
        problems.append(f"weightBits {rep['weightBits']}, expected {weight_bits}")
    names = [l.get("name") for l in rep["layers"]]
    if sorted(names) != ["k", "proj", "q"]:
        problems.append(f"layers {names}, expected q, k, proj")
    if expect_exact:
        if rep["exactMode"] is not True:
            problems.append("exactMode is not true")
        for l in rep["layers"]:
            if l.get("exact") is not True or l.get("maxError") != 0:
                problems.append(f"layer {l.get('name')} not exact (maxError {l.get('maxError')})")
            if fs and l.get("name") in fs and l.get("fractionBits") != fs[l["name"]]:
                problems.append(f"layer {l['name']} fractionBits {l.get('fractionBits')}, expected {fs[l['name']]}")
    return problems


def summarize_report(rep: dict) -> str:
    parts = []
    for l in rep.get("layers", []):
        fb = l.get("fractionBits", [])
        rng = f"{min(fb)}..{max(fb)}" if fb else "-"
        parts.append(f"{l.get('name')}: Fw {rng}, maxError {l.get('maxError'):.3g}, exact {l.get('exact')}")
    return f"exactMode {rep.get('exactMode')}, layout {rep.get('layout')}, E {rep.get('decayFractionBits')}; " + "; ".join(parts)


# ----------------------------------------------------------------------------------------------
# Parts

def case_inputs(rng: np.random.Generator, b: int, t: int, n: int, c: int) -> np.ndarray:
    p = rng.uniform(0.1, 0.5, size=(b, 1, 1, 1))
    return (rng.random((b, t, n, c)) < p).astype(np.uint8)


def run_case(qf: QKForge, work: str, label: str, m: QKAttention, x: np.ndarray, export, do_sim: bool,
             exact: bool, fs, lanes: Optional[int]) -> dict:
    """export(bundle_dir) writes the bundle of module m; x is uint8 [B, T, N, C]."""
    bundle = os.path.join(work, label)
    export(bundle)
    x_path = os.path.join(work, label + ".x.npy")
    np.save(x_path, x)
    sj = run_spikingjelly(m, x)
    py = intmodel.run(bundle, x)
    res = {"label": label, "exact": exact, "problems": [],
           "rates": rates({"Q": sj["q"], "K": sj["k"], "mask": sj["mask"], "out": sj["out"]})}
    rep = qf.quantize(bundle)
    res["report"] = summarize_report(rep)
    res["problems"] += check_report(rep, exact, fs, 8)
    gold = qf.spikes("golden", bundle, x_path, os.path.join(work, label + ".golden.npy"))
    same_shape = gold.shape == sj["out"].shape
    if exact:
        res["golden_mismatches"] = mismatches("golden", sj["out"], gold)
        # one sample given as [T, N, C] must come back as [T, N, C], equal to its row of the batch
        x1 = os.path.join(work, label + ".x1.npy")
        np.save(x1, x[0])
        g1 = qf.spikes("golden", bundle, x1, os.path.join(work, label + ".golden1.npy"))
        if g1.shape != x[0].shape or not same_shape or not np.array_equal(g1, gold[0]):
            res["problems"].append(f"golden on one [T, N, C] sample gave shape {list(g1.shape)} or other spikes than in the batch")
        py_layers = {k: agreement(sj[k], py[k]) for k in ("q", "k", "mask", "out")}
        if any(v != 1.0 for v in py_layers.values()):
            res["problems"].append(f"NumPy integer model differs from spikingjelly per layer: {py_layers}")
    else:
        res["golden_mismatches"] = int(np.sum(sj["out"] != gold)) if same_shape else gold.size
    res["golden_agreement"] = agreement(sj["out"], gold)
    res["numpy_vs_golden"] = int(np.sum(py["out"] != gold)) if gold.shape == py["out"].shape else gold.size
    res["layers"] = {k: agreement(sj[k], py[k]) for k in ("q", "k", "mask", "out")}
    if do_sim:
        extra = ("--lanes", str(lanes)) if lanes else ()
        sim = qf.spikes("simulate", bundle, x_path, os.path.join(work, label + ".sim.npy"), extra)
        if exact:
            res["sim_mismatches"] = mismatches("simulate", sj["out"], sim)
        else:
            res["sim_mismatches"] = int(np.sum(sim != sj["out"])) if sim.shape == sj["out"].shape else sim.size
        res["sim_vs_golden"] = int(np.sum(sim != gold)) if sim.shape == gold.shape else sim.size
        if res["sim_vs_golden"]:
            res["problems"].append(f"simulate differs from golden in {res['sim_vs_golden']} spikes")
    return res


def report_exact(r: dict) -> int:
    """Prints an exact case's result; returns 1 if it failed."""
    bad = r["golden_mismatches"] + r.get("sim_mismatches", 0) + len(r["problems"]) + (1 if r["numpy_vs_golden"] else 0)
    for p in r["problems"]:
        print(f"    FAIL {p}")
    print(f"    {'FAIL' if bad else 'ok'}: rates {r['rates']}; golden mismatches {r['golden_mismatches']}"
          + (f", simulate mismatches {r['sim_mismatches']}" if "sim_mismatches" in r else "")
          + f", NumPy model vs golden {r['numpy_vs_golden']}")
    print(f"    quantize: {r['report']}")
    return 1 if bad else 0


def part_exact(qf, work, seed, shapes, ts, samples, sim_mode, lanes) -> Tuple[int, List[dict]]:
    print("== exact mode: spikingjelly QKAttention on the 8-bit grid, exact BatchNorm folds ==")
    failures, rows, case = 0, [], 0
    for kind in KINDS:
        for si, (c, h, n) in enumerate(shapes):
            for ti, t in enumerate(ts):
                s = sub_seed(seed, "exact", kind, c, h, n, t)
                rng = np.random.default_rng(s)
                torch.manual_seed(s)
                m, fs = make_exact(c, h, kind, rng)
                x = case_inputs(rng, samples, t, n, c)
                do_sim = sim_mode in ("all", "exact") or (sim_mode == "some" and ti == si % len(ts))
                # RTL folding: the default lanes, one lane, and a lane count that does not divide C
                p = lanes if lanes else (None, 1, 3)[case % 3] if do_sim else None
                case += 1 if do_sim else 0
                label = f"exact-{KINDS[kind]}-c{c}-h{h}-n{n}-t{t}"
                how = f", golden + simulate (lanes {p or 'default'})" if do_sim else ", golden"
                print(f"  {label} (seed {s}, {samples} samples{how})")
                export = lambda d, m=m, n=n, t=t: export_module(m, d, tokens=n, timeSteps=t, bnEps=EPS,
                                                                weightBits=8, perChannel=True, overwrite=True)
                try:
                    r = run_case(qf, work, label, m, x, export, do_sim, True, fs, p)
                except Failure as e:
                    print(f"    FAIL {e}")
                    failures += 1
                    rows.append({"label": label, "error": str(e)})
                    continue
                failures += report_exact(r)
                rows.append(r)
    return failures, rows


def authors_state_dict(m: QKAttention, prefix: str) -> Dict[str, torch.Tensor]:
    """The QKFormer authors' keys (q_conv, q_bn, k_conv, k_bn, proj_conv with a bias, proj_bn)
    for the same function as spikingjelly's fused module m: the proj conv gets a bias delta and
    its BatchNorm's running mean grows by delta, which folds to the same b'."""
    sd = {k: v.detach().clone() for k, v in m.state_dict().items()}
    c = m.dim
    out: Dict[str, torch.Tensor] = {}
    for name, rows in (("q", slice(0, c)), ("k", slice(c, 2 * c))):
        out[f"{prefix}{name}_conv.weight"] = sd["qk_conv_bn.0.weight"][rows].clone()
        for p in ("weight", "bias", "running_mean", "running_var"):
            out[f"{prefix}{name}_bn.{p}"] = sd[f"qk_conv_bn.1.{p}"][rows].clone()
        out[f"{prefix}{name}_bn.num_batches_tracked"] = torch.tensor(0)
    mean = sd["proj_conv_bn.1.running_mean"]
    out[f"{prefix}proj_conv.weight"] = sd["proj_conv_bn.0.weight"]
    out[f"{prefix}proj_conv.bias"] = 0.5 * mean
    for p in ("weight", "bias", "running_var"):
        out[f"{prefix}proj_bn.{p}"] = sd[f"proj_conv_bn.1.{p}"]
    out[f"{prefix}proj_bn.running_mean"] = 1.5 * mean
    out[f"{prefix}proj_bn.num_batches_tracked"] = torch.tensor(0)
    return out


def part_layouts(qf, work, seed, samples) -> int:
    """Key layouts: a spikingjelly QKFormer block (prefix stageS.I.attn.) and the authors' keys."""
    print("== key layouts: spikingjelly QKFormer blocks (module prefix) and the QKFormer authors' keys ==")
    from spikingjelly.activation_based.model.qkformer import QKFormer
    failures = 0
    cases = [("qkformer-module", "channel", 1, 0, 2), ("qkformer-module", "token", 2, 0, 4),
             ("authors-keys", "token", 1, 0, 4)]
    for ci, (what, kind, stage, index, t) in enumerate(cases):
        s = sub_seed(seed, "layout", what, kind, stage, index, t)
        rng = np.random.default_rng(s)
        torch.manual_seed(s)
        if what == "qkformer-module":
            # stage dims 16/32/64, heads 2/4/8, one block per stage
            model = QKFormer(T=t, embed_dims=64, num_heads=(2, 4, 8), depths=(1, 1, 1), qka_type=kind).eval()
            m = getattr(model, f"stage{stage}")[index].attn
            c, h, n = m.dim, m.num_heads, 16
            exact_m, fs = make_exact(c, h, kind, rng)
            m.load_state_dict(exact_m.state_dict())
            for bn in (m.qk_conv_bn[1], m.proj_conv_bn[1]):
                bn.eps = EPS
            export = lambda d, model=model, stage=stage, index=index, n=n: export_module(
                model, d, stage=stage, index=index, tokens=n, overwrite=True)
            label = f"layout-qkformer-{KINDS[kind]}-stage{stage}.{index}-t{t}"
        else:
            c, h, n = 32, 4, 16
            m, fs = make_exact(c, h, kind, rng)
            prefix = f"stage{stage}.{index}.attn."
            sd = authors_state_dict(m, prefix)
            sd[f"stage{stage}.{index}.mlp.fc1_conv.weight"] = torch.zeros(4 * c, c, 1)  # not exported
            export = lambda d, sd=sd, stage=stage, index=index, n=n, t=t, h=h: export_state_dict(
                sd, d, stage=stage, index=index, heads=h, tokens=n, timeSteps=t, layout="qkformer",
                bnEps=EPS, overwrite=True)
            label = f"layout-authors-{KINDS[kind]}-stage{stage}.{index}-t{t}"
        x = case_inputs(rng, samples, t, n, c)
        do_sim = ci == len(cases) - 1
        print(f"  {label} (seed {s}, {samples} samples, golden{' + simulate' if do_sim else ''})")
        try:
            r = run_case(qf, work, label, m, x, export, do_sim, True, fs, None)
        except (Failure, Exception) as e:  # an exporter error is a failure of this part too
            print(f"    FAIL {type(e).__name__}: {e}")
            failures += 1
            continue
        keys = sorted(os.listdir(os.path.join(work, label, "tensors")))
        print(f"    tensors: {keys[0]} ... ({len(keys)} files)")
        failures += report_exact(r)
    return failures


def part_float(qf, work, seed, shapes, t, samples, sim_mode, lanes) -> Tuple[int, List[dict]]:
    print("== float weights: torch default init, random BatchNorm statistics, 8-bit per-channel ==")
    failures, rows = 0, []
    for kind in KINDS:
        for si, (c, h, n) in enumerate(shapes):
            s = sub_seed(seed, "float", kind, c, h, n, t)
            rng = np.random.default_rng(s)
            torch.manual_seed(s)
            m = make_float(c, h, kind, rng)
            x = case_inputs(rng, samples, t, n, c)
            do_sim = sim_mode == "all" or (sim_mode in ("exact", "some") and si == 0)
            label = f"float-{KINDS[kind]}-c{c}-h{h}-n{n}-t{t}"
            print(f"  {label} (seed {s}, {samples} samples{', golden + simulate' if do_sim else ', golden'})")
            export = lambda d, m=m, n=n: export_module(m, d, tokens=n, timeSteps=t, weightBits=8,
                                                       perChannel=True, overwrite=True)
            try:
                r = run_case(qf, work, label, m, x, export, do_sim, False, None, lanes)
            except Failure as e:
                print(f"    FAIL {e}")
                failures += 1
                rows.append({"label": label, "error": str(e)})
                continue
            for p in r["problems"]:
                print(f"    FAIL {p}")
            failures += 1 if r["problems"] else 0
            lay = ", ".join(f"{k} {v:.4f}" for k, v in r["layers"].items())
            print(f"    rates (spikingjelly) {r['rates']}")
            print(f"    output spike agreement with spikingjelly: golden {r['golden_agreement']:.4f}"
                  f" ({r['golden_mismatches']} of {x.size} differ)"
                  + (f", simulate {1 - r['sim_mismatches'] / x.size:.4f}" if "sim_mismatches" in r else ""))
            print(f"    per layer (NumPy integer model vs spikingjelly): {lay}; NumPy model vs golden output: {r['numpy_vs_golden']} differ")
            print(f"    quantize: {r['report']}")
            rows.append(r)
    return failures, rows


def part_malformed(qf, work, seed) -> int:
    """Malformed bundles: one line on stderr starting with 'qkforge: ', exit 2, nothing written."""
    print("== malformed bundles: golden and generate must fail with one line and exit 2 ==")
    s = sub_seed(seed, "malformed")
    rng = np.random.default_rng(s)
    torch.manual_seed(s)
    c, h, n, t = 16, 2, 8, 2
    m, _ = make_exact(c, h, "token", rng)
    base = os.path.join(work, "bad-base")
    export_module(m, base, tokens=n, timeSteps=t, bnEps=EPS, overwrite=True)
    x_path = os.path.join(work, "bad.x.npy")
    np.save(x_path, case_inputs(rng, 1, t, n, c))
    print(f"  base bundle seed {s}")

    def variant(name, edit):
        d = os.path.join(work, "bad-" + name)
        shutil.rmtree(d, ignore_errors=True)
        shutil.copytree(base, d)
        edit(d)
        return d

    def tpath(d, key):
        return os.path.join(d, "tensors", key + ".npy")

    def truncate(d):
        p = tpath(d, "qk_conv_bn.0.weight")
        data = open(p, "rb").read()
        open(p, "wb").write(data[: len(data) // 2])

    def unknown_field(d):
        p = os.path.join(d, "config.json")
        cfg = json.load(open(p))
        cfg["numHeads"] = h
        json.dump(cfg, open(p, "w"), indent=2)

    def wrong_shape(d):
        np.save(tpath(d, "proj_conv_bn.0.weight"), np.zeros((c, c + 1, 1), dtype=np.float32))

    def truncate_header(d):
        p = tpath(d, "proj_conv_bn.1.weight")
        data = open(p, "rb").read()
        open(p, "wb").write(data[:20])

    def unknown_quant_field(d):
        p = os.path.join(d, "config.json")
        cfg = json.load(open(p))
        cfg["quantization"]["bits"] = 8
        json.dump(cfg, open(p, "w"), indent=2)

    cases = {
        "missing-tensor": lambda d: os.remove(tpath(d, "qk_conv_bn.1.running_var")),
        "wrong-shape": wrong_shape,
        "truncated-npy": truncate,
        "unknown-field": unknown_field,
        # a few more of the same kind
        "npy-header-cut": truncate_header,
        "unknown-q-field": unknown_quant_field,
        "no-config": lambda d: os.remove(os.path.join(d, "config.json")),
    }
    def commands(d, name):
        return {
            "golden": ["golden", "--bundle", d, "--input", x_path, "--output", os.path.join(work, f"bad-{name}.y.npy")],
            "generate": ["generate", "--bundle", d, "--out", os.path.join(work, f"bad-{name}.out")],
            "generate --model": ["generate", "--model", os.path.join(d, "config.json"), "--bundle", d,
                                 "--out", os.path.join(work, f"bad-{name}.model.out")],
        }

    failures = 0
    # control: the unmodified bundle works with the same command lines
    for cmd, args in commands(base, "control").items():
        p = qf.run(*args, check=False)
        wrote = os.path.exists(args[-1]) and (not os.path.isdir(args[-1]) or os.path.exists(os.path.join(args[-1], "files.f")))
        ok = p.returncode == 0 and wrote
        print(f"  {'control':15s} {cmd:16s} {'ok  ' if ok else 'FAIL'} exit {p.returncode}"
              + ("" if ok else f": {(p.stderr.strip().splitlines() or ['(no stderr)'])[-1]}"))
        failures += 0 if ok else 1
    for name, edit in cases.items():
        d = variant(name, edit)
        for cmd, args in commands(d, name).items():
            written = args[-1]
            shutil.rmtree(written, ignore_errors=True) if os.path.isdir(written) else (os.path.exists(written) and os.remove(written))
            p = qf.run(*args, check=False)
            lines = [l for l in p.stderr.splitlines() if l.strip()]
            ok = p.returncode == 2 and len(lines) == 1 and lines[0].startswith("qkforge: ") and not os.path.exists(written)
            why = []
            if p.returncode != 2:
                why.append(f"exit {p.returncode}")
            if len(lines) != 1:
                why.append(f"{len(lines)} stderr lines")
            if lines and not lines[0].startswith("qkforge: "):
                why.append("line does not start with 'qkforge: '")
            if os.path.exists(written):
                why.append(f"{os.path.basename(written)} was written")
            first = lines[0] if lines else "(no stderr)"
            print(f"  {name:15s} {cmd:16s} {'ok  ' if ok else 'FAIL'} {first}" + ("" if ok else f"  [{'; '.join(why)}]"))
            failures += 0 if ok else 1
    return failures


# ----------------------------------------------------------------------------------------------

def part_blocks(qf, work, sim_mode) -> int:
    """spikingjelly 2.0.0's own `model.qkformer._Block` (token and channel attention, block
    inputs with counts up to 4, odd shapes, both key layouts) through the command line:
    `qkforge golden` and `qkforge simulate` on each bundle of Tests/GoldenTests/Fixtures/blocks
    must equal spikingjelly's block output on every count. The fixtures are spikingjelly's
    outputs; `tools/crosscheck/blocks.py --check` (run first by scripts/crosscheck.sh)
    regenerates them from spikingjelly and fails when they differ."""
    root = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                        "Tests", "GoldenTests", "Fixtures", "blocks")
    cases = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
    # Verilator builds one design per case (about a minute each on a shared core): simulate
    # every case with --simulate all, else one per key layout and attention kind.
    simulated = set(cases) if sim_mode == "all" else set() if sim_mode == "none" else {
        "authors-cifar-qkca-c12-h4-n5-t2", "model-stage2.1-qkta-c12-h3-n9-t3", "sj-qkca-c20-h4-n9-t2"}
    print(f"part blocks: {len(cases)} spikingjelly _Block cases through qkforge golden, {len(simulated & set(cases))} through simulate")
    failures = 0
    for name in cases:
        d = os.path.join(root, name)
        want = np.load(os.path.join(d, "y.npy"))
        x = np.load(os.path.join(d, "x.npy"))
        cmds = ["golden"] + (["simulate"] if name in simulated else [])
        for cmd in cmds:
            try:
                got = qf.spikes(cmd, os.path.join(d, "bundle"), os.path.join(d, "x.npy"), os.path.join(work, f"block-{name}-{cmd}.npy"))
                bad = mismatches(f"{name} {cmd}", want, got)
            except Failure as e:
                print(f"  {name} {cmd}: {e}")
                bad = 1
            failures += 1 if bad else 0
            print(f"  {name} {cmd}: {'OK' if not bad else 'MISMATCH'}: {want.size} counts (max input count {int(x.max())}, max output {int(want.max())})")
    return failures


def part_ssa(qf, work, seed, samples, sim_mode, full=False) -> int:
    """SSA: spikingjelly 2.0.0's `SpikingSelfAttention` alone (0/1 spikes) and inside
    `model.qkformer._Block(self_attention=True)` (block inputs with counts up to 6), in exact
    mode (tools/crosscheck/ssa.py's weights), odd shapes (d = C/h not a power of two, N odd,
    T from 1 to 8), exported with tools/export_bundle.py's `export_module`, through
    `qkforge golden`: every output count must equal spikingjelly's. `qkforge simulate` runs too,
    unless it answers that SSA hardware is not built yet: then the case's simulate check is
    printed as SKIPPED and counted neither as a pass nor as a failure."""
    import ssa as ssa_fixtures
    from spikingjelly.activation_based.layer.attention import SpikingSelfAttention
    from spikingjelly.activation_based.model.qkformer import _Block
    # kind, C, heads, N, T, largest input count
    cases = [("ssa", 15, 3, 7, 1, 1), ("ssa", 14, 2, 9, 2, 1), ("ssa", 20, 4, 11, 3, 1), ("ssa", 18, 3, 5, 8, 1),
             ("block", 12, 2, 7, 2, 6), ("block", 15, 5, 9, 4, 6), ("block", 10, 2, 11, 6, 5), ("block", 21, 3, 5, 8, 6)]
    # --ssa-full: hst-4-384's stage 3 at its real size (C 384, 8 heads, d 48, N 64, T 4; the
    # second block reads counts up to 4), golden only unless --simulate all
    full_cases = [("ssa", 384, 8, 64, 4, 1), ("block", 384, 8, 64, 4, 4)] if full else []
    cases = cases + full_cases
    print(f"part ssa: {len(cases)} spikingjelly SpikingSelfAttention / _Block(self_attention) cases, "
          f"{samples} samples each, through qkforge golden and simulate")
    failures, skipped, passed, sim_passed = 0, 0, 0, 0
    for kind, c, h, n, t, max_in in cases:
        label = f"{kind}-c{c}-h{h}-n{n}-t{t}" + (f"-m{max_in}" if kind == "block" else "")
        s = sub_seed(seed, "ssa", label)
        rng = np.random.default_rng(s)
        torch.manual_seed(s)
        # At full size (d*N = 3072) Q, K and V fire less, or attn_lif would fire almost always.
        big = (kind, c, h, n, t, max_in) in full_cases
        if kind == "ssa":
            mod = SpikingSelfAttention(c, h)
            att = mod
            ssa_fixtures.make_exact_ssa(mod, rng, (-2.5, -0.5) if big else (1.5, 4.0))
        else:
            mod = _Block(c, h, 4.0, "token", True, None, {})
            att = mod.attn
            ssa_fixtures.make_exact_block(mod, rng, (-3.5, -1.5) if big else (-0.5, 2.0))
        functional.set_step_mode(mod, "m")
        mod.eval()
        if kind == "ssa":
            x = (rng.random((samples, t, n, c)) < rng.uniform(0.3, 0.6)).astype(np.uint8)
        else:
            x = ssa_fixtures.blocks.block_inputs(rng, t, n, c, max_in)[:samples] if samples <= 2 else np.concatenate(
                [ssa_fixtures.blocks.block_inputs(rng, t, n, c, max_in) for _ in range((samples + 1) // 2)])[:samples]
        want = ssa_fixtures.run_module(mod, att, x, kind == "block")
        bundle = os.path.join(work, f"ssa-{label}")
        export_module(mod, bundle, tokens=n, timeSteps=t, bnEps=EPS, overwrite=True)
        x_path = os.path.join(work, f"ssa-{label}-x.npy")
        np.save(x_path, x)
        info = f"seed {s}, attn_lif rate {float(np.mean(want['attn'])):.3f}, output counts 0..{int(want['y'].max())}"
        try:
            got = qf.spikes("golden", bundle, x_path, os.path.join(work, f"ssa-{label}-golden.npy"))
            bad = mismatches(f"{label} golden", want["y"], got)
            verdict = "OK" if not bad else "MISMATCH"
        except Failure as e:
            print(f"  {label} golden: FAILED TO RUN: {e}")
            bad, verdict = 1, "NOT RUN (a failure)"
        failures += 1 if bad else 0
        passed += 0 if bad else 1
        print(f"  {label} golden: {verdict}: {want['y'].size} counts ({info})")
        if sim_mode == "none" or ((kind, c, h, n, t, max_in) in full_cases and sim_mode != "all"):
            continue
        y_sim = os.path.join(work, f"ssa-{label}-simulate.npy")
        p = qf.run("simulate", "--bundle", bundle, "--input", x_path, "--output", y_sim, check=False)
        if p.returncode != 0 and "SSA hardware is not built yet" in (p.stderr + p.stdout):
            skipped += 1
            print(f"  {label} simulate: SKIPPED, not a pass: qkforge simulate answers "
                  f"'{(p.stderr.strip() or p.stdout.strip()).splitlines()[-1]}'")
            continue
        if p.returncode != 0:
            print(f"  {label} simulate: FAILED TO RUN: exit {p.returncode}: {(p.stderr.strip() or p.stdout.strip())[-300:]}")
            failures += 1
            continue
        bad = mismatches(f"{label} simulate", want["y"], np.load(y_sim))
        failures += 1 if bad else 0
        sim_passed += 0 if bad else 1
        print(f"  {label} simulate: {'OK' if not bad else 'MISMATCH'}: {want['y'].size} counts")
    # The committed fixtures (tools/crosscheck/ssa.py) through the command line's golden model.
    root = os.path.join(os.path.dirname(os.path.dirname(HERE)), "Tests", "GoldenTests", "Fixtures", "ssa")
    fixtures = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
    fixtures_ok = 0
    for name in fixtures:
        d = os.path.join(root, name)
        want = np.load(os.path.join(d, "y.npy"))
        try:
            got = qf.spikes("golden", os.path.join(d, "bundle"), os.path.join(d, "x.npy"), os.path.join(work, f"ssa-fixture-{name}.npy"))
            bad = mismatches(f"fixture {name} golden", want, got)
        except Failure as e:
            print(f"  fixture {name} golden: FAILED TO RUN: {e}")
            bad = 1
        failures += 1 if bad else 0
        fixtures_ok += 0 if bad else 1
        print(f"  fixture {name} golden: {'OK' if not bad else 'MISMATCH or NOT RUN'}: {want.size} counts")
    print(f"part ssa: golden {passed} of {len(cases)} cases and {fixtures_ok} of {len(fixtures)} fixtures equal to "
          f"spikingjelly; simulate " + ("not run (--simulate none)" if sim_mode == "none" else
             f"{sim_passed} of {len(cases)} equal, SKIPPED in {skipped} (no SSA hardware; not counted as passed)")
          + f"; {failures} failures")
    return failures


def parse_shapes(s: str) -> List[Tuple[int, int, int]]:
    out = []
    for part in s.split():
        c, h, n = (int(v) for v in part.split(","))
        out.append((c, h, n))
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--qkforge", default=os.environ.get("QKFORGE_BIN"), help="the qkforge binary [$QKFORGE_BIN]")
    p.add_argument("--seed", type=int, default=int(os.environ.get("QKFORGE_SEED", "1")), help="master seed [$QKFORGE_SEED or 1]")
    p.add_argument("--work", default=os.path.join(os.getcwd(), ".cache", "crosscheck-work"))
    p.add_argument("--shapes", default="16,2,8 32,4,16 64,8,12", help="'C,heads,tokens ...'")
    p.add_argument("--time-steps", default="1,2,4", help="T values of the exact part")
    p.add_argument("--float-time-steps", type=int, default=4)
    p.add_argument("--samples", type=int, default=3)
    p.add_argument("--simulate", choices=("all", "exact", "some", "none"), default="exact",
                   help="which cases also run `qkforge simulate` (Verilator): all; every exact case and the "
                        "first float shape per kind [default]; one T per exact shape and kind and the first "
                        "float shape; none")
    p.add_argument("--lanes", type=int, help="--lanes for every qkforge simulate [cycles default, 1, 3 over the exact cases]")
    p.add_argument("--parts", default="exact,layouts,float,malformed,blocks,ssa,network")
    p.add_argument("--ssa-full", action="store_true", help="the ssa part also runs hst-4-384's stage 3 at full size (golden; simulate with --simulate all)")
    p.add_argument("--verbose", action="store_true")
    a = p.parse_args()
    if not a.qkforge or not os.access(a.qkforge, os.X_OK):
        print(f"crosscheck: no qkforge binary ({a.qkforge!r}); give --qkforge or QKFORGE_BIN", file=sys.stderr)
        return 2
    from importlib.metadata import version
    print(f"crosscheck: seed {a.seed} (replay with --seed {a.seed}); torch {torch.__version__}, "
          f"spikingjelly {version('spikingjelly')}, numpy {np.__version__}; qkforge {a.qkforge}")
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    qf = QKForge(os.path.abspath(a.qkforge), a.verbose)
    shapes = parse_shapes(a.shapes)
    ts = [int(v) for v in a.time_steps.split(",")]
    parts = set(a.parts.split(","))
    t0 = time.time()
    failures = {}
    if "exact" in parts:
        failures["exact"], _ = part_exact(qf, a.work, a.seed, shapes, ts, a.samples, a.simulate, a.lanes)
    if "layouts" in parts:
        failures["layouts"] = part_layouts(qf, a.work, a.seed, a.samples)
    if "float" in parts:
        failures["float"], _ = part_float(qf, a.work, a.seed, shapes, a.float_time_steps, a.samples, a.simulate, a.lanes)
    if "malformed" in parts:
        failures["malformed"] = part_malformed(qf, a.work, a.seed)
    if "blocks" in parts:
        failures["blocks"] = part_blocks(qf, a.work, a.simulate)
    if "ssa" in parts:
        failures["ssa"] = part_ssa(qf, a.work, a.seed, a.samples, a.simulate, a.ssa_full)
    if "network" in parts:
        import network  # tools/crosscheck/network.py: whole networks through `qkforge golden`
        failures["network"] = network.part_network(qf, a.work, a.seed, a.samples)
    secs = ", ".join(f"{k} {v:.1f} s" for k, v in sorted(qf.seconds.items()))
    print(f"crosscheck: {time.time() - t0:.1f} s ({secs}); failures: "
          + ", ".join(f"{k} {v}" for k, v in failures.items()) + f"; seed {a.seed}")
    return 1 if any(failures.values()) else 0


if __name__ == "__main__":
    sys.exit(main())

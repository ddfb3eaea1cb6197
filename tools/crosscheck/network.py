#!/usr/bin/env python3
"""The `network` part of the cross-check (docs/crosscheck.md): whole QKFormer networks through
`qkforge golden --bundle DIR --input images.npy --output logits.npy`.

spikingjelly  spikingjelly 2.0.0's `model.qkformer.QKFormer` (imagenet patch embeddings with conv
        biases, QKTA/QKCA stages 1-2, SSA stage 3, the head) at small sizes (embed_dims 32-56,
        odd per-head and stem channel counts, square and non-square images), in exact mode:
        every conv + BatchNorm folds exactly onto an 8-bit per-channel grid (the blocks part's
        construction, generalised to 3x3 convs), images on the input grid 2^-5, E = T*k. The
        whole state_dict is exported as a network bundle (spikingjelly key layout); the logits
        of `qkforge golden` must equal spikingjelly's (run in float64, so that its arithmetic
        is exact too) to float rounding, and the classes must be equal; `--raw` z must give the
        same logits through SPEC 3.9's formula.
numpy   the cifar and dvs patch embeddings (spikingjelly has neither), written here in NumPy
        from SPEC 4.3 alone (float64 conv with zero padding, BatchNorm, max pool with -inf
        padding, LIF), in networks without blocks, exported in the QKFormer authors' key layout
        (cifar10/model.py, dvs128-gesture/model.py names); the logits of `qkforge golden` must
        equal the NumPy model's to float rounding.
bad     a wrong image size and a missing layer: one line on stderr, exit 2, nothing written.

    python tools/crosscheck/network.py --qkforge BIN [--seed S]   (or crosscheck.py --parts network)
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import zlib
from typing import Dict, List, Tuple

import numpy as np

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import blocks  # noqa: E402  (exact MLP/QKTA layers, bundle writing; sets torch single-threaded)
import ssa as ssa_fixtures  # noqa: E402
import torch  # noqa: E402

from spikingjelly.activation_based import functional  # noqa: E402
from spikingjelly.activation_based.model.qkformer import QKFormer  # noqa: E402

EPS = 2.0 ** -16   # var + eps a power of 4: the fold is exact
FIN = 5            # input fraction bits: pixels p * 2^-5, p in [-128, 127]


def sub_seed(seed: int, *parts) -> int:
    return zlib.crc32(repr((seed,) + parts).encode()) & 0x7FFFFFFF


# ----------------------------------------------------------------------------------------------
# Exact weights

def exact_conv(out_c: int, fan_in: int, rng: np.random.Generator, bias_range: Tuple[float, float],
               conv_bias: bool) -> Dict[str, np.ndarray]:
    """A conv [out_c, fan_in] (+ bias) and BatchNorm whose fold is exactly on an 8-bit per-channel
    grid 2^-f (f in 5..8): blocks.set_exact_layer's construction for any fan-in. The folded bias
    of each channel is uniform in bias_range, on the grid."""
    w = np.zeros((out_c, fan_in))
    cb, gamma, beta, mean, var = (np.zeros(out_c) for _ in range(5))
    for o in range(out_c):
        f = int(rng.integers(5, 9))
        sign = -1 if rng.random() < 0.3 else 1
        odd = int(rng.choice([1, 1, 3]))
        a = int(rng.integers(-1, 2))
        j = int(rng.integers(-1, 3))
        top = 127 // odd
        m = np.clip(np.round(rng.normal(0, 30 / odd, fan_in)), -top, top).astype(np.int64)
        m[int(rng.integers(fan_in))] = int(rng.choice([-1, 1])) * int(rng.integers(-(-65 // odd), top + 1))
        s = sign * odd * 2.0 ** a
        w[o] = m * 2.0 ** -(f + a)
        gamma[o] = s * 2.0 ** j
        var[o] = 4.0 ** j - EPS
        r = int(rng.integers(-200, 201))
        q = int(rng.integers(-60, 61)) if conv_bias else 0
        mean[o] = r * 2.0 ** -(f + a)
        cb[o] = q * 2.0 ** -(f + a)
        target = int(np.round(rng.uniform(*bias_range) * 2 ** f))
        beta[o] = (target - sign * odd * (q - r)) * 2.0 ** -f
    for v in (w, cb, gamma, beta, mean, var):
        assert np.array_equal(v.astype(np.float32).astype(np.float64), v), "value not exact in float32"
    return {"w": w, "b": cb, "gamma": gamma, "beta": beta, "mean": mean, "var": var}


def set_conv(conv, bn, rng, bias_range) -> None:
    """Exact values into a torch conv (any kernel) and its BatchNorm."""
    out_c = conv.weight.shape[0]
    p = exact_conv(out_c, conv.weight[0].numel(), rng, bias_range, conv.bias is not None)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor(p["w"], dtype=torch.float32).reshape(conv.weight.shape))
        if conv.bias is not None:
            conv.bias.copy_(torch.tensor(p["b"], dtype=torch.float32))
        for t, k in ((bn.weight, "gamma"), (bn.bias, "beta"), (bn.running_mean, "mean"), (bn.running_var, "var")):
            t.copy_(torch.tensor(p[k], dtype=torch.float32))
    bn.eps = EPS


def exact_qkformer(model: QKFormer, rng: np.random.Generator, classes: int) -> None:
    """Exact weights for every layer of a spikingjelly QKFormer, biases chosen so that every
    layer fires at a moderate rate; the head on the 8-bit grid 2^-7."""
    pe1 = model.patch_embed1
    set_conv(pe1.conv1, pe1.bn1, rng, (-1.0, 1.5))       # the stem: currents from real pixels
    set_conv(pe1.conv2, pe1.bn2, rng, (-0.5, 1.5))
    set_conv(pe1.conv3, pe1.bn3, rng, (-0.5, 1.5))
    set_conv(pe1.shortcut[0], pe1.shortcut[1], rng, (0.0, 2.0))
    for pe in (model.patch_embed2, model.patch_embed3):
        set_conv(pe.conv1, pe.bn1, rng, (-1.0, 1.5))
        set_conv(pe.conv2, pe.bn2, rng, (-0.5, 1.5))
        set_conv(pe.shortcut[0], pe.shortcut[1], rng, (0.0, 2.0))
    for blk in list(model.stage1) + list(model.stage2):
        blocks.make_exact_block(blk, rng)
    for blk in model.stage3:
        ssa_fixtures.make_exact_block(blk, rng, (-0.5, 2.0))
    with torch.no_grad():
        hw = rng.integers(-128, 128, size=tuple(model.head.weight.shape)) * 2.0 ** -7
        hb = rng.integers(-128, 128, size=classes) * 2.0 ** -7
        model.head.weight.copy_(torch.tensor(hw, dtype=torch.float32))
        model.head.bias.copy_(torch.tensor(hb, dtype=torch.float32))


def write_bundle(d: str, sd: Dict[str, torch.Tensor], config: dict) -> None:
    shutil.rmtree(d, ignore_errors=True)
    blocks.write_bundle(d, sd, config)


# ----------------------------------------------------------------------------------------------
# References

def run_spikingjelly(model: QKFormer, images: np.ndarray, dtype, rates: Dict[str, List[float]] = None) -> np.ndarray:
    """images float [B, 3, H, W] -> logits [B, classes], one image at a time (reset_net between).
    `rates` collects the mean count of every embedding's and block's output stream."""
    m = model.to(dtype)
    hooks = []
    if rates is not None:
        for name in ("patch_embed1", "stage1", "patch_embed2", "stage2", "patch_embed3", "stage3"):
            mods = getattr(m, name)
            last = mods[-1] if isinstance(mods, torch.nn.ModuleList) and len(mods) else mods
            if isinstance(last, torch.nn.ModuleList):
                continue
            hooks.append(last.register_forward_hook(
                lambda mod, i, o, name=name: rates.setdefault(name, []).append(float(o.double().mean()))))
    out = []
    try:
        with torch.no_grad():
            for x in images:
                functional.reset_net(m)
                out.append(m(torch.tensor(x[None], dtype=dtype))[0].double().numpy())
    finally:
        for h in hooks:
            h.remove()
        functional.reset_net(m)
    return np.stack(out)


def np_conv(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int, pad: int) -> np.ndarray:
    """PyTorch Conv2d (cross-correlation, zero padding) on x [T, Cin, H, W], float64 (SPEC 3.6)."""
    t, cin, h, wd = x.shape
    cout, _, k, _ = w.shape
    xp = np.zeros((t, cin, h + 2 * pad, wd + 2 * pad))
    xp[:, :, pad:pad + h, pad:pad + wd] = x
    ho, wo = (h + 2 * pad - k) // stride + 1, (wd + 2 * pad - k) // stride + 1
    y = np.zeros((t, cout, ho, wo)) + b[None, :, None, None]
    for dy in range(k):
        for dx in range(k):
            patch = xp[:, :, dy:dy + stride * (ho - 1) + 1:stride, dx:dx + stride * (wo - 1) + 1:stride]
            y += np.einsum("oi,tiyx->toyx", w[:, :, dy, dx], patch)
    return y


def np_pool(x: np.ndarray) -> np.ndarray:
    """MaxPool2d(3, 2, 1), floor mode, -infinity padding (SPEC 3.7)."""
    t, c, h, w = x.shape
    xp = np.full((t, c, h + 2, w + 2), -np.inf)
    xp[:, :, 1:h + 1, 1:w + 1] = x
    ho, wo = (h - 1) // 2 + 1, (w - 1) // 2 + 1
    y = np.full((t, c, ho, wo), -np.inf)
    for dy in range(3):
        for dx in range(3):
            y = np.maximum(y, xp[:, :, dy:dy + 2 * (ho - 1) + 1:2, dx:dx + 2 * (wo - 1) + 1:2])
    return y


def np_lif(x: np.ndarray) -> np.ndarray:
    """QKFormer's LIF over the time axis 0 (SPEC 3.1 in reals): tau 2, decay_input, threshold 1,
    hard reset to 0."""
    v = np.zeros(x.shape[1:])
    out = np.zeros_like(x)
    for t in range(x.shape[0]):
        h = v + (x[t] - v) / 2
        s = h >= 1.0
        out[t] = s
        v = np.where(s, 0.0, h)
    return out


class NumpyEmbeddings:
    """The cifar and dvs networks of SPEC 4.3 without blocks (patch embeddings, then the head),
    in float64, reading the authors' key names from a float state_dict."""

    def __init__(self, sd: Dict[str, np.ndarray], embedding: str, stages: int):
        self.sd, self.embedding, self.stages = sd, embedding, stages

    def layer(self, x, stem: str, stride: int = 1, pool: bool = False):
        """LIF(pool?(BN(Conv(x)))), the conv's padding (k - 1) / 2."""
        w = self.sd[stem + "_conv.weight"]
        b = self.sd.get(stem + "_conv.bias", np.zeros(w.shape[0]))
        y = np_conv(x, w, b, stride, (w.shape[2] - 1) // 2)
        g, beta, mean, var = (self.sd[stem + "_bn." + p] for p in ("weight", "bias", "running_mean", "running_var"))
        y = (y - mean[None, :, None, None]) / np.sqrt(var + EPS)[None, :, None, None] * g[None, :, None, None] + beta[None, :, None, None]
        return np_lif(np_pool(y) if pool else y)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """x: [T, C, H, W] (an image repeated T times, or DVS frames) -> logits."""
        L = self.layer
        if self.embedding == "cifar":
            u = L(x, "patch_embed1.proj")
            y = L(u, "patch_embed1.proj1") + L(u, "patch_embed1.proj_res")
            for s in range(2, self.stages + 1):
                p = f"patch_embed{s}."
                m = L(L(y, p + "proj3"), p + "proj4", pool=True)
                y = m + L(y, p + "proj_res", stride=2)
        else:
            p = "patch_embed1."
            a = L(x, p + "proj")
            b = L(a, p + "proj1", pool=True)
            d = L(L(b, p + "proj2", pool=True), p + "proj3", pool=True)
            y = d + L(b, p + "proj_res", stride=4)
            for s in range(2, self.stages + 1):
                p = f"patch_embed{s}."
                y = L(L(y, p + "proj"), p + "proj4", pool=True) + L(y, p + "proj_res", stride=2)
        feat = y.mean(axis=(2, 3)).mean(axis=0)           # mean over tokens, then time
        return self.sd["head.weight"] @ feat + self.sd["head.bias"]


def numpy_case(rng: np.random.Generator, embedding: str, dims: List[int], image: List[int], t: int, classes: int,
               max_count: int = 3) -> Tuple[Dict[str, np.ndarray], dict]:
    """A float state_dict (authors' keys, no conv biases) of an exact cifar or dvs network without
    blocks, and its config.json."""
    sd: Dict[str, np.ndarray] = {}
    def conv(stem, cin, cout, k, bias_range=(-0.5, 1.5)):
        p = exact_conv(cout, cin * k * k, rng, bias_range, False)
        sd[stem + "_conv.weight"] = p["w"].reshape(cout, cin, k, k)
        for name, key in (("weight", "gamma"), ("bias", "beta"), ("running_mean", "mean"), ("running_var", "var")):
            sd[f"{stem}_bn.{name}"] = p[key]
        sd[f"{stem}_bn.num_batches_tracked"] = np.array(0, dtype=np.int64)
    cin = 3 if embedding == "cifar" else 2
    C = dims[0]
    if embedding == "cifar":
        conv("patch_embed1.proj", cin, C // 2, 3, (-1.0, 1.5))
        conv("patch_embed1.proj1", C // 2, C, 3)
        conv("patch_embed1.proj_res", C // 2, C, 1, (0.0, 2.0))
    else:
        conv("patch_embed1.proj", cin, C // 8, 3, (0.0, 1.5))
        conv("patch_embed1.proj1", C // 8, C // 4, 3)
        conv("patch_embed1.proj2", C // 4, C // 2, 3)
        conv("patch_embed1.proj3", C // 2, C, 3)
        conv("patch_embed1.proj_res", C // 4, C, 1, (0.0, 2.0))
    for s in range(2, len(dims) + 1):
        cp, C = dims[s - 2], dims[s - 1]
        first = "proj" if embedding == "dvs" else "proj3"
        conv(f"patch_embed{s}.{first}", cp, C, 3)
        conv(f"patch_embed{s}.proj4", C, C, 3)
        conv(f"patch_embed{s}.proj_res", cp, C, 1, (0.0, 2.0))
    sd["head.weight"] = rng.integers(-128, 128, size=(classes, dims[-1])) * 2.0 ** -7
    sd["head.bias"] = rng.integers(-128, 128, size=classes) * 2.0 ** -7
    heads = [2] * len(dims)
    cfg = {"block": "network", "embedding": embedding, "dims": dims, "heads": heads, "depths": [0] * len(dims),
           "image": image, "inChannels": cin, "classes": classes, "timeSteps": t, "layout": "qkformer", "bnEps": EPS,
           "quantization": {"weightBits": 8, "perChannel": True, "inputBits": 8, "inputFractionBits": FIN}}
    if embedding == "dvs":
        cfg["maxInputCount"] = max_count
    return sd, cfg


# ----------------------------------------------------------------------------------------------
# The part

def golden(qf, bundle: str, x_path: str, y_path: str, raw: bool = False, command: str = "golden") -> np.ndarray:
    """`qkforge golden` (or `simulate`: the generated RTL in Verilator) on a network bundle."""
    if os.path.exists(y_path):
        os.remove(y_path)
    qf.run(command, "--bundle", bundle, "--input", x_path, "--output", y_path, *(["--raw"] if raw else []))
    y = np.load(y_path)
    want = np.int64 if raw else np.float64
    if y.dtype != want:
        raise RuntimeError(f"qkforge {command} wrote {y.dtype}, expected {np.dtype(want)}")
    return y


def simulate_too(qf, label: str, bundle: str, x_path: str, work: str, want: np.ndarray, golden_logits: np.ndarray) -> Tuple[bool, str]:
    """The RTL through `qkforge simulate`: the same logits as the reference, and bit for bit the golden model's."""
    sim = golden(qf, bundle, x_path, os.path.join(work, f"network-{label}-sim.npy"), command="simulate")
    ok, msg = compare(label, want, sim)
    if not np.array_equal(sim, golden_logits):
        return False, f"simulate differs from golden in {int(np.sum(sim != golden_logits))} logits"
    return ok, "simulate (RTL in Verilator): " + msg


def compare(label: str, want: np.ndarray, got: np.ndarray) -> Tuple[bool, str]:
    if want.shape != got.shape:
        return False, f"shape {list(got.shape)}, expected {list(want.shape)}"
    err = float(np.max(np.abs(want - got))) if want.size else 0.0
    scale = max(1.0, float(np.max(np.abs(want))))
    same_class = np.array_equal(np.argmax(want, axis=1), np.argmax(got, axis=1))
    ok = err <= 1e-12 * scale and same_class
    return ok, (f"max |logit difference| {err:.3g} (logits up to {float(np.max(np.abs(want))):.3g}), classes "
                f"{'equal' if same_class else 'DIFFER'}: {np.argmax(got, axis=1).tolist()}")


# embed_dims, heads, depths, image [H, W], T, qka_type, classes
SJ_CASES = [
    (32, (2, 2, 4), (1, 1, 1), (32, 32), 2, "token", 10),
    (40, (1, 4, 5), (1, 1, 1), (32, 48), 4, "channel", 7),
    (56, (7, 7, 7), (1, 2, 1), (48, 32), 3, "token", 5),
]
# The cases `qkforge simulate` runs too (the generated RTL in Verilator; a build each): the smallest
# spikingjelly network, a small cifar and a small dvs network.
SIMULATE_SJ = {0}
SIMULATE_NP = {1, 3}
# embedding, dims, image, T, classes
NP_CASES = [
    ("cifar", [10, 20, 40], [12, 16], 4, 6),
    ("cifar", [6, 12], [8, 8], 2, 3),
    ("dvs", [16, 24], [32, 16], 3, 4),
    ("dvs", [24], [16, 24], 2, 5),
]


def part_network(qf, work: str, seed: int, samples: int = 3) -> int:
    failures = 0
    print(f"part network: {len(SJ_CASES)} spikingjelly QKFormer networks and {len(NP_CASES)} NumPy cifar/dvs embedding "
          f"networks through qkforge golden, {samples} inputs each ({len(SIMULATE_SJ) + len(SIMULATE_NP)} through simulate too)")
    for case_index, (e, heads, depths, (h, w), t, qka, classes) in enumerate(SJ_CASES):
        label = f"sj-e{e}-h{'.'.join(map(str, heads))}-d{''.join(map(str, depths))}-{h}x{w}-t{t}-{qka}"
        s = sub_seed(seed, "network", label)
        rng = np.random.default_rng(s)
        torch.manual_seed(s)
        model = QKFormer(T=t, in_channels=3, num_classes=classes, embed_dims=e, num_heads=heads, depths=depths,
                         qka_type=qka).eval()
        exact_qkformer(model, rng, classes)
        dims = [e // 4, e // 2, e]
        cfg = {"block": "network", "embedding": "imagenet", "dims": dims, "heads": list(heads), "depths": list(depths),
               "image": [h, w], "inChannels": 3, "classes": classes, "timeSteps": t, "mlpRatio": 4, "attention": qka,
               "layout": "spikingjelly", "bnEps": EPS,
               "quantization": {"weightBits": 8, "perChannel": True, "inputBits": 8, "inputFractionBits": FIN}}
        bundle = os.path.join(work, f"network-{label}")
        write_bundle(bundle, dict(model.state_dict()), cfg)
        images = rng.integers(-128, 128, size=(samples, 3, h, w)) * 2.0 ** -FIN
        x_path = os.path.join(work, f"network-{label}-x.npy")
        np.save(x_path, images.astype(np.float32))
        stream_rates: Dict[str, List[float]] = {}
        want64 = run_spikingjelly(model, images, torch.float64, stream_rates)
        rate_text = ", ".join(f"{k} {np.mean(v):.2f}" for k, v in stream_rates.items())
        want32 = run_spikingjelly(model, images, torch.float32)
        try:
            got = golden(qf, bundle, x_path, os.path.join(work, f"network-{label}-logits.npy"))
            z = golden(qf, bundle, x_path, os.path.join(work, f"network-{label}-z.npy"), raw=True)
            ok, msg = compare(label, want64, got)
            # --raw z and SPEC 3.9's formula: logits * N*T / z must be 2^-Fw, a power of two.
            n_tokens = (h // 16) * (w // 16)
            ratio = got * n_tokens * t / np.where(z == 0, 1, z)
            fw_ok = np.all((z == 0) | np.isclose(np.log2(1 / ratio), np.round(np.log2(1 / ratio)), atol=1e-9))
            if not fw_ok:
                ok, msg = False, msg + "; --raw z is not logits * N*T * 2^Fw"
            f32 = float(np.max(np.abs(want32 - want64)))
            if case_index in SIMULATE_SJ:
                sim_ok, sim_msg = simulate_too(qf, label, bundle, x_path, work, want64, got)
                ok, msg = ok and sim_ok, msg + "; " + sim_msg
        except Exception as ex:  # noqa: BLE001
            ok, msg, f32 = False, f"FAILED TO RUN: {ex}", float("nan")
        failures += 0 if ok else 1
        print(f"  {label} (seed {s}): {'OK' if ok else 'MISMATCH'}: {msg}; spikingjelly float32 vs float64 {f32:.3g}")
        print(f"    mean count of each stream: {rate_text}")

    for case_index, (embedding, dims, image, t, classes) in enumerate(NP_CASES):
        label = f"np-{embedding}-dims{'.'.join(map(str, dims))}-{image[0]}x{image[1]}-t{t}"
        s = sub_seed(seed, "network", label)
        rng = np.random.default_rng(s)
        sd, cfg = numpy_case(rng, embedding, dims, image, t, classes)
        bundle = os.path.join(work, f"network-{label}")
        write_bundle(bundle, {k: torch.tensor(v) if v.dtype == np.int64 else torch.tensor(v, dtype=torch.float32) for k, v in sd.items()}, cfg)
        model = NumpyEmbeddings(sd, embedding, len(dims))
        if embedding == "cifar":
            xs = rng.integers(-128, 128, size=(samples, 3, *image)) * 2.0 ** -FIN
            want = np.stack([model(np.repeat(x[None], t, axis=0)) for x in xs])
        else:
            xs = rng.integers(0, 4, size=(samples, t, 2, *image)).astype(np.float64) * (rng.random((samples, t, 2, *image)) < 0.3)
            want = np.stack([model(x) for x in xs])
        x_path = os.path.join(work, f"network-{label}-x.npy")
        np.save(x_path, xs.astype(np.float32))
        try:
            got = golden(qf, bundle, x_path, os.path.join(work, f"network-{label}-logits.npy"))
            ok, msg = compare(label, want, got)
            if case_index in SIMULATE_NP:
                sim_ok, sim_msg = simulate_too(qf, label, bundle, x_path, work, want, got)
                ok, msg = ok and sim_ok, msg + "; " + sim_msg
        except Exception as ex:  # noqa: BLE001
            ok, msg = False, f"FAILED TO RUN: {ex}"
        failures += 0 if ok else 1
        print(f"  {label} (seed {s}): {'OK' if ok else 'MISMATCH'}: {msg}")

    # Bad input: one line, exit 2, nothing written.
    e, heads, depths, (h, w), t, qka, classes = SJ_CASES[0]
    label = f"sj-e{e}-h{'.'.join(map(str, heads))}-d{''.join(map(str, depths))}-{h}x{w}-t{t}-{qka}"
    bundle = os.path.join(work, f"network-{label}")
    bad_x = os.path.join(work, "network-bad-x.npy")
    np.save(bad_x, np.zeros((2, 3, h + 16, w), dtype=np.float32))
    broken = os.path.join(work, "network-bad-bundle")
    shutil.rmtree(broken, ignore_errors=True)
    shutil.copytree(bundle, broken)
    os.remove(os.path.join(broken, "tensors", "patch_embed2.conv1.weight.npy"))
    for what, b, x in (("wrong image size", bundle, bad_x), ("missing layer", broken, os.path.join(work, f"network-{label}-x.npy"))):
        out = os.path.join(work, "network-bad-y.npy")
        if os.path.exists(out):
            os.remove(out)
        p = qf.run("golden", "--bundle", b, "--input", x, "--output", out, check=False)
        lines = [l for l in p.stderr.splitlines() if l.strip()]
        ok = p.returncode == 2 and len(lines) == 1 and lines[0].startswith("qkforge: ") and not os.path.exists(out)
        failures += 0 if ok else 1
        print(f"  bad input, {what}: {'ok' if ok else 'FAIL'} exit {p.returncode}: {lines[0] if lines else '(no stderr)'}")
    print(f"part network: {failures} failures")
    return failures


class _QKForge:
    def __init__(self, binary: str):
        self.binary = binary

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        p = subprocess.run([self.binary, *args], capture_output=True, text=True)
        if check and p.returncode != 0:
            raise RuntimeError(f"qkforge {' '.join(args)} exited {p.returncode}: {(p.stderr.strip() or p.stdout.strip())[-300:]}")
        return p


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--qkforge", default=os.environ.get("QKFORGE_BIN"), help="the qkforge binary [$QKFORGE_BIN]")
    p.add_argument("--seed", type=int, default=int(os.environ.get("QKFORGE_SEED", "1")))
    p.add_argument("--samples", type=int, default=3)
    p.add_argument("--work", default=os.path.join(os.getcwd(), ".cache", "crosscheck-network"))
    a = p.parse_args()
    if not a.qkforge or not os.access(a.qkforge, os.X_OK):
        print(f"network: no qkforge binary ({a.qkforge!r}); give --qkforge or QKFORGE_BIN", file=sys.stderr)
        return 2
    print(f"network: seed {a.seed} (replay with --seed {a.seed})")
    os.makedirs(a.work, exist_ok=True)
    return 1 if part_network(_QKForge(os.path.abspath(a.qkforge)), a.work, a.seed, a.samples) else 0


if __name__ == "__main__":
    sys.exit(main())

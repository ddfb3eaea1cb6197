"""A small NumPy model of docs/arithmetic.md for one QK attention block (QKTA or QKCA), used by the
cross-check to report per-layer agreement with spikingjelly and to triple-check the Swift golden
model. It reads a bundle written by tools/export_bundle.py (spikingjelly or QKFormer keys).

It is deliberately independent of the Swift code: BatchNorm folding in float64, the finest
power-of-two grid that fits weightBits (round half away from zero, as Swift's `.rounded()`),
integer LIF with E = decayFractionBits (default T*k) extra membrane fraction bits.
"""
from __future__ import annotations

import json
import os
from typing import Dict, List, Tuple

import numpy as np


def _round(x: np.ndarray) -> np.ndarray:
    """Round half away from zero (Swift's default `.rounded()`)."""
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def finest_grid(row: np.ndarray, weight_bits: int) -> int:
    lo, hi = -(1 << (weight_bits - 1)), (1 << (weight_bits - 1)) - 1
    m = float(np.max(np.abs(row))) if row.size else 0.0
    if m == 0:
        return weight_bits - 1
    f = weight_bits + 1 - int(np.floor(np.log2(m)))
    while f > -64:
        r = _round(row * 2.0 ** f)
        if r.min() >= lo and r.max() <= hi:
            return f
        f -= 1
    return f


class Layer:
    """A folded, quantized layer: integer weights [out, in], bias [out], fraction bits [out]."""

    def __init__(self, name: str, w: np.ndarray, b: np.ndarray, weight_bits: int, per_channel: bool):
        self.name = name
        self.folded_w, self.folded_b = w, b
        if per_channel:
            fs = [finest_grid(w[o], weight_bits) for o in range(w.shape[0])]
        else:
            fs = [finest_grid(w.reshape(-1), weight_bits)] * w.shape[0]
        self.f = np.array(fs, dtype=np.int64)
        scale = 2.0 ** self.f.astype(np.float64)
        self.w = _round(w * scale[:, None]).astype(np.int64)
        self.b = _round(b * scale).astype(np.int64)
        err_w = np.abs(self.w / scale[:, None] - w)
        err_b = np.abs(self.b / scale - b)
        self.max_error = float(max(err_w.max(initial=0.0), err_b.max(initial=0.0)))

    @property
    def exact(self) -> bool:
        return self.max_error == 0.0


def _load(bundle: str) -> Tuple[dict, Dict[str, np.ndarray]]:
    with open(os.path.join(bundle, "config.json")) as f:
        cfg = json.load(f)
    tdir = os.path.join(bundle, "tensors")
    ts = {n[:-4]: np.load(os.path.join(tdir, n)) for n in os.listdir(tdir) if n.endswith(".npy")}
    return cfg, ts


def _fold(w, bn: Dict[str, np.ndarray], eps: float, bias=None):
    w = w.astype(np.float64).reshape(w.shape[0], -1)
    b = np.zeros(w.shape[0]) if bias is None else bias.astype(np.float64)
    s = bn["weight"].astype(np.float64) / np.sqrt(bn["running_var"].astype(np.float64) + eps)
    return w * s[:, None], s * (b - bn["running_mean"].astype(np.float64)) + bn["bias"].astype(np.float64)


def layers_from_bundle(bundle: str) -> Tuple[dict, List[Layer]]:
    cfg, ts = _load(bundle)
    q = cfg.get("quantization", {})
    wb, pc = q.get("weightBits", 8), q.get("perChannel", True)
    eps = cfg.get("bnEps", 1e-5)
    c = cfg["dim"]

    def find(suffix):
        hits = [k for k in ts if k == suffix or k.endswith("." + suffix)]
        if len(hits) != 1:
            raise KeyError(f"{suffix}: {hits}")
        return ts[hits[0]]

    def bn(prefix):
        return {p: find(f"{prefix}.{p}") for p in ("weight", "bias", "running_mean", "running_var")}

    if any(k.endswith("qk_conv_bn.0.weight") for k in ts):
        w, b = _fold(find("qk_conv_bn.0.weight"), bn("qk_conv_bn.1"), eps)
        wq, bq, wk, bk = w[:c], b[:c], w[c:], b[c:]
        pb = next((ts[k] for k in ts if k.endswith("proj_conv_bn.0.bias")), None)
        wp, bp = _fold(find("proj_conv_bn.0.weight"), bn("proj_conv_bn.1"), eps, pb)
    else:
        wq, bq = _fold(find("q_conv.weight"), bn("q_bn"), eps)
        wk, bk = _fold(find("k_conv.weight"), bn("k_bn"), eps)
        pb = next((ts[k] for k in ts if k.endswith("proj_conv.bias")), None)
        wp, bp = _fold(find("proj_conv.weight"), bn("proj_bn"), eps, pb)
    return cfg, [Layer("q", wq, bq, wb, pc), Layer("k", wk, bk, wb, pc), Layer("proj", wp, bp, wb, pc)]


def lif(currents: np.ndarray, th: np.ndarray, k: int = 1) -> np.ndarray:
    """Integer LIF over axis 0 (time), hard reset to 0, decayInput: H = V + ((I - V) >> k)."""
    v = np.zeros(currents.shape[1:], dtype=np.int64)
    out = np.zeros(currents.shape, dtype=np.uint8)
    for t in range(currents.shape[0]):
        h = v + ((currents[t] - v) >> k)
        s = h >= th
        out[t] = s
        v = np.where(s, 0, h)
    return out


def run(bundle: str, x: np.ndarray) -> Dict[str, np.ndarray]:
    """x: uint8 [B, T, N, C]. Returns Q, K [B,T,N,C], the mask (token: [B,T,N,heads]; channel:
    [B,T,C]) and the output [B,T,N,C]."""
    cfg, (lq, lk, lp) = layers_from_bundle(bundle)
    T = x.shape[1]
    e = cfg.get("quantization", {}).get("decayFractionBits", T * 1)
    heads, c = cfg["heads"], cfg["dim"]
    d = c // heads
    xi = x.astype(np.int64)

    def spiking(layer: Layer, inp: np.ndarray) -> np.ndarray:
        cur = (inp @ layer.w.T + layer.b) << e            # [B,T,N,C] on 2^-(F+E)
        th = np.int64(1) << (layer.f + e)
        return lif(np.moveaxis(cur, 1, 0), th).swapaxes(0, 1)  # back to [B,T,N,C]

    q = spiking(lq, xi)
    k = spiking(lk, xi)
    fa = 1 + e  # attention LIF: integer sums, threshold 0.5, exact with E more bits
    if cfg.get("block", "qkta") == "qkca":
        s = q.astype(np.int64).sum(axis=2)                 # [B,T,C]
        mask = lif(np.moveaxis(s << fa, 1, 0), np.int64(1) << (fa - 1)).swapaxes(0, 1)
        xp = mask[:, :, None, :] & k
    else:
        s = q.astype(np.int64).reshape(*q.shape[:3], heads, d).sum(axis=4)  # [B,T,N,h]
        mask = lif(np.moveaxis(s << fa, 1, 0), np.int64(1) << (fa - 1)).swapaxes(0, 1)
        xp = np.repeat(mask, d, axis=3) & k
    out = spiking(lp, xp.astype(np.int64))
    return {"q": q, "k": k, "mask": mask, "out": out}

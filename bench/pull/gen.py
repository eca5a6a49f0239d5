#!/usr/bin/python3
"""bench/pull/gen.py — the pull benchmark's image as a tools/mkimage.py spec: 7 gzip layers,
~1 GB of tar that compresses to ~300 MB, many small files and some large ones. Deterministic:
the same SEED and SCALE give the same spec, so the same image bytes and digests.

Usage: gen.py [--seed N] [--scale F] > spec.json     (SCALE 1.0 = ~1 GB uncompressed)
"""

import argparse
import json
import math
import random

# (name, files, min size, max size, fraction of incompressible files, dirs). Sizes are
# log-uniform between min and max: most files small, a few near the top.
LAYERS = [
    ("base-small", 20000, 200, 12 << 10, 0.0, 400),
    ("libs-mixed", 12000, 1 << 10, 40 << 10, 0.02, 300),
    ("assets", 400, 64 << 10, 2 << 20, 0.10, 40),
    ("big-text", 3, 80 << 20, 80 << 20, 0.0, 1),
    ("big-mixed", 2, 20 << 20, 120 << 20, 0.5, 1),
    ("app-medium", 120, 256 << 10, 4 << 20, 0.05, 12),
    ("config-small", 3000, 100, 16 << 10, 0.0, 100),
]


def layer(name, files, lo, hi, binary, ndirs, rng, scale):
    n = max(1, round(files * scale))
    entries = []
    for i in range(n):
        size = round(math.exp(rng.uniform(math.log(lo), math.log(hi))))
        if n <= 3:
            size = round(size * scale)
        e = {"path": f"{name}/d{i % ndirs:03d}/f{i:06d}", "size": size, "seed": rng.getrandbits(48)}
        if rng.random() >= binary:
            e["fill"] = "text"
        entries.append(e)
    # a few symlinks and a hardlink, as real layers have
    for i in range(min(n, 20)):
        entries.append({"path": f"{name}/link{i:02d}", "type": "symlink",
                        "target": f"d{i % ndirs:03d}/f{i:06d}"})
    entries.append({"path": f"{name}/hard", "type": "hardlink", "target": f"{name}/d000/f000000"})
    return {"files": entries, "created_by": f"bench: {name} ({n} files)"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--scale", type=float, default=1.0)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    spec = {"seed": a.seed, "ref": "bench-pull",
            "config": {"Cmd": ["/bin/sh"]},
            "layers": [layer(*l, rng, a.scale) for l in LAYERS]}
    json.dump(spec, __import__("sys").stdout, separators=(",", ":"))


if __name__ == "__main__":
    main()

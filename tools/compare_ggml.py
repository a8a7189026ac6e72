#!/usr/bin/env python3
"""Side-by-side MUL_MAT table: hatch's `bench ops --json` against ggml's
`test-backend-ops perf -o MUL_MAT` log, on the shapes both ran (same machine, same run day).

usage: tools/compare_ggml.py HATCH_JSON GGML_LOG
Standard library only."""
import json
import re
import sys

def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1]) as f:
        ours = json.load(f)
    ggml = {}
    pat = re.compile(r"MUL_MAT\(type_a=(\w+),type_b=f32,m=(\d+),n=(\d+),k=(\d+).*?([\d.]+) us/run")
    with open(sys.argv[2], errors="replace") as f:
        for line in f:
            m = pat.search(re.sub(r"\x1b\[[0-9;]*m", "", line))
            if m:
                t, mm, n, k, us = m.groups()
                ggml[(t, int(mm), int(k), int(n))] = float(us)
    print(f"hatch backend: {ours['backend']}")
    print("| type | m | k | n | hatch us | ggml us | ggml / hatch |")
    print("|---|---|---|---|---|---|---|")
    rows = 0
    for r in ours["results"]:
        if r["op"] != "matmul":
            continue
        m = re.match(r"m=(\d+) k=(\d+) n=(\d+)", r["shape"])
        key = (r["type"], int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if key in ggml:
            rows += 1
            print(f"| {key[0]} | {key[1]} | {key[2]} | {key[3]} | {r['us']:.0f} | {ggml[key]:.0f} | "
                  f"{ggml[key] / r['us']:.2f}x |")
    return 0 if rows else 1

if __name__ == "__main__":
    sys.exit(main())

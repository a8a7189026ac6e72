#!/usr/bin/env python3
"""Accuracy per question template (synthetic questions) or per setting (MindCube files) from the
--answers files of `hatch-train eval`. Usage: tools/answers-by-template.py ANSWERS.jsonl...
A synthetic sample's "source" ends with its template (sim:seed=..:scene=..:rotation_turn); for other
sources the setting is used."""
import collections
import json
import sys

if len(sys.argv) < 2:
    sys.exit(__doc__)
for path in sys.argv[1:]:
    counts = collections.defaultdict(lambda: [0, 0])
    with open(path) as f:
        for n, line in enumerate(f, 1):
            try:
                d = json.loads(line)
            except json.JSONDecodeError as e:
                sys.exit(f"{path}:{n}: not JSON: {e}")
            src = d.get("source", "")
            key = src.rsplit(":", 1)[-1] if src.startswith("sim:") else d.get("setting", "?")
            counts[key][0] += bool(d.get("correct"))
            counts[key][1] += 1
    print(path)
    for key, (right, total) in sorted(counts.items()):
        print(f"  {key:16s} {100.0 * right / total:5.1f}%  ({right}/{total})")

#!/usr/bin/env python3
"""Asks `hatch query` the questions of a synthetic MindCube-format dataset (hatch-train data) from their
images, and prints each plan with the true answer beside it: the runtime end to end with known answers.

usage: tools/ask-sim.py HATCH MODEL DATASET_DIR [N] [extra hatch query options...]
"""
import json
import os
import subprocess
import sys


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    hatch, model, ds = sys.argv[1:4]
    n = int(sys.argv[4]) if len(sys.argv) > 4 else 4
    extra = sys.argv[5:]
    right = asked = 0
    with open(os.path.join(ds, "train.jsonl")) as f:
        for line in f:
            if asked == n:
                break
            r = json.loads(line)
            cmd = [hatch, "query", "--model", model, "--rank-options", "--id", r["id"], "--question", r["question"]]
            for im in r["images"]:
                cmd += ["--image", os.path.join(ds, im)]
            out = subprocess.run(cmd + extra, capture_output=True, text=True)
            asked += 1
            if out.returncode != 0:
                print(f"[{r['id']}] hatch query failed: {out.stderr.strip()}")
                continue
            plan = json.loads(out.stdout)
            got = plan["answer"]["choice"]
            right += got == r["gt_answer"]
            print(f"[{r['id']}] {r['question']}")
            print(f"  plan: {json.dumps(plan['steps'])} -> {got}. {plan['answer']['text']}")
            print(f"  truth: {r['gt_answer']}. {r['hatch']['answer_text']}  ({'right' if got == r['gt_answer'] else 'wrong'})")
    print(f"{right}/{asked} right")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Reads a model's answers against where the options stand: for each template, how often the model
chose the answer, an option seen in the question's view (a "visible distractor"), or one not seen
there; split by whether any distractor is seen in that view, with what choosing uniformly among the
options the view shows would score. A model that finds which objects a view shows but not where they
stand in it scores about that.

Usage: tools/answers-by-visibility.py GEOMETRY.jsonl ANSWERS.jsonl...
GEOMETRY from build/hatch-question-geometry (the same --sim N, --grounding and seed as the answers,
from `hatch-train eval --answers`). The view a template is read in: the question's own view (`from`)
for image_side, image_relation, main_object, visible and among_*; the teacher action's end (`to`)
for around_side (where the move ends) and closest (the image it names); the view whose main object
the answer is for rotation_* (the view the turns reach). "Shown" is the generator's visibility test
(>= 1/500 of the view). When the view shows no option, the uniform choice scores 0."""
import collections
import json
import sys

VIEW = {"around_side": "to", "closest": "to", "rotation_turn": "answer_view", "rotation_side": "answer_view"}


def load(path):
    with open(path) as f:
        for n, line in enumerate(f, 1):
            try:
                yield json.loads(line)
            except json.JSONDecodeError as e:
                sys.exit(f"{path}:{n}: not JSON: {e}")


if len(sys.argv) < 3:
    sys.exit(__doc__)
geometry = {g["id"]: g for g in load(sys.argv[1])}
for path in sys.argv[2:]:
    table = collections.defaultdict(collections.Counter)
    uniform = collections.defaultdict(float)
    unmatched = 0
    for a in load(path):
        g = geometry.get(a.get("id"))
        template = a.get("source", "").rsplit(":", 1)[-1]
        if not g or g["truth"] != a.get("truth") or (a.get("source", "").startswith("sim:") and template != g["template"]):
            unmatched += 1
            continue
        view = g[VIEW.get(g["template"], "from")]
        seen = {o["letter"]: view >= 0 and bool(o.get("seen")) and o["seen"][view] for o in g["options"]}
        split = "a distractor seen" if any(s for L, s in seen.items() if L != g["truth"]) else "no distractor seen"
        pick = a.get("answer")
        kind = ("no answer" if pick not in seen else "right" if pick == g["truth"] else
                "seen distractor" if seen[pick] else "unseen distractor")
        table[(g["template"], split)][kind] += 1
        n_seen = sum(seen.values())
        if seen.get(g["truth"]):  # what choosing uniformly among the options the view shows would score
            uniform[(g["template"], split)] += 1.0 / n_seen
    print(path + (f"  ({unmatched} answers without matching geometry)" if unmatched else ""))
    for (template, split), c in sorted(table.items()):
        total = sum(c.values())
        print(f"  {template:15s} {split:18s} {total:3d}: right {c['right']:3d}  seen distractor {c['seen distractor']:3d}"
              f"  unseen distractor {c['unseen distractor']:3d}" + (f"  no answer {c['no answer']}" if c["no answer"] else "") +
              f"  (uniform over the seen options: {uniform[(template, split)]:.1f} right)")

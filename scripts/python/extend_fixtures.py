#!/usr/bin/python3
"""Add the influence-pattern baseline and top-K paths to the fixtures' reference.json files.

    /usr/bin/python3 scripts/python/extend_fixtures.py            # every fixture
    /usr/bin/python3 scripts/python/extend_fixtures.py cls_op13   # only some

Run after make_fixtures.py (which writes reference.json without these keys). For each fixture the
float64 model is rebuilt exactly as make_fixtures.py built it (the seed recorded in
reference.json), its logits are checked against the recorded ones, and every case gains:
  influencePattern: {path, jasReference, jasPaper, remove, enhance, scores[l][j]}   (ALGORITHM §6)
  topK: {k, reference: {sets, jasReference, jasPaper, layerScores, remove, enhance},
            paper: {sets, jasReference, jasPaper, layerScores}}                     (ALGORITHM §5)
Existing keys are left as they are. Printed per fixture: the smallest relative margin of the
influence-pattern argmax and of the top-K ranking (consecutive gaps among the K+1 best), which
must be clear for a float32 engine to reproduce them.
"""
import copy
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import FIXTURES, OUT, fixture_input, flat, randomize, scale_head, top2_margin  # noqa: E402
from neuron_path_ref import NeuronPathRef  # noqa: E402

TOP_K = 3


def rank_margin(scores, k):
    """Smallest relative gap between consecutive scores among the k+1 largest."""
    s = torch.sort(scores.detach().double(), descending=True).values[:k + 1]
    scale = float(scores.abs().max())
    return min(float(s[i] - s[i + 1]) for i in range(k)) / scale if scale > 0 else 0.0


def rebuild(spec, doc):
    x = fixture_input(spec["image_index"], spec.get("size", 16))
    if max(abs(a - b) for a, b in zip(flat(x), doc["input"]["data"])) > 0:
        raise RuntimeError(f"{spec['name']}: the input image differs from reference.json's")
    seed = doc["seed"]
    torch.manual_seed(seed)
    model = spec["build"](spec["act"]).eval()
    randomize(model, seed)
    scale_head(model, x)
    m64 = copy.deepcopy(model).double()
    with torch.no_grad():
        logits = m64(x.double())[0]
    # scale_head reads float32 logits, whose last bits depend on the BLAS build: ~1e-7 relative.
    err = max(abs(a - b) for a, b in zip(flat(logits), doc["logits"])) / max(abs(v) for v in doc["logits"])
    if err > 1e-6:
        raise RuntimeError(f"{spec['name']}: rebuilt model's logits differ from reference.json's by {err:.2e}")
    return m64, x.double(), err


def extend(spec):
    path = os.path.join(OUT, spec["name"], "reference.json")
    with open(path) as f:
        doc = json.load(f)
    model, x, err = rebuild(spec, doc)
    readout = [0] if spec["scope"] == "cls" else list(range(1, doc["tokens"]))  # as make_fixtures.py
    ref = NeuronPathRef(model, model.fc2_modules(), readout, doc["steps"])
    margins = []
    try:
        _, _, w = ref.clean(x)
        for case in doc["cases"]:
            t = case["target"]
            ip_path, ip_scores = ref.influence_pattern(x, t)
            j = ref.jas(x, t, w, ip_path)
            case["influencePattern"] = {
                "path": ip_path, "jasReference": j["reference"], "jasPaper": j["paper"],
                "remove": ref.remove(x, t, ip_path), "enhance": ref.enhance(x, t, ip_path),
                "scores": [flat(s) for s in ip_scores]}
            margins += [top2_margin(s) for s in ip_scores]
            top = {"k": TOP_K}
            for formula in ("reference", "paper"):
                r = ref.locate_topk(x, t, w, TOP_K, formula)
                one = ref.locate_topk(x, t, w, 1, formula)["sets"]
                if [s[0] for s in one] != case[formula]["path"]:
                    raise RuntimeError(f"{spec['name']}: top-1 sets differ from the {formula} path")
                top[formula] = {"sets": r["sets"], "jasReference": r["jasBoth"]["reference"],
                                "jasPaper": r["jasBoth"]["paper"], "layerScores": [flat(s) for s in r["layerScores"]]}
                margins += [rank_margin(s, TOP_K) for s in r["layerScores"]]
            sets = top["reference"]["sets"]
            top["reference"]["remove"] = ref.remove(x, t, sets)
            top["reference"]["enhance"] = ref.enhance(x, t, sets)
            case["topK"] = top
    finally:
        ref.close()
    text = json.dumps(doc, separators=(",", ":"))
    with open(path, "w") as f:
        f.write(text + "\n")
    c0 = doc["cases"][0]
    print(f"{spec['name']}: IP path {c0['influencePattern']['path']}, top-{TOP_K} {c0['topK']['reference']['sets']}; "
          f"smallest margin {min(margins):.2e}; rebuilt logits within {err:.1e}; json {len(text)} B", flush=True)


def main():
    only = set(sys.argv[1:])
    for spec in FIXTURES:
        if not only or spec["name"] in only:
            extend(spec)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""The intervention's reference numbers: test/fixtures/<name>/intervention.json.

    /usr/bin/python3 scripts/python/make_intervention_fixtures.py --timm DIR [NAME ...]

For four fixture models (plain class token, mean-pool, gated SwiGLU, registers + avg pool) the
float64 model is rebuilt from the seed its reference.json records (as make_fixtures.py and
make_family_fixtures.py built it; DIR holds the timm package, see make_family_fixtures.py), its
logits are checked against the recorded ones, and random settings are drawn: sets of 1..8 distinct
neurons (layer, j) with factors from {0, 0.5, 2, -1}, each applied at the readout rows and at every
token row (neuron_path_ref.NeuronPathRef.intervene). Each case records the settings and every
class's probability after. CI reads the file; it never runs Python.
"""
import argparse
import copy
import json
import os
import random
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixtures as mf  # noqa: E402
from neuron_path_ref import NeuronPathRef  # noqa: E402

FIXTURES = ["cls_op13", "mae_pool", "timm_eva02_op14", "timm_reg4_avg_op14_fixed"]
FACTORS = [0.0, 0.5, 2.0, -1.0]
SIZES = [1, 2, 3, 5, 8]


def rebuild(name, doc):
    """The float64 model of a fixture, its fc2 modules and readout rows, and the float64 input."""
    x = torch.tensor(doc["input"]["data"], dtype=torch.float32).reshape(doc["input"]["shape"])
    seed = doc["seed"]
    plain = [s for s in mf.FIXTURES if s["name"] == name]
    if plain:
        torch.manual_seed(seed)
        model = plain[0]["build"](plain[0]["act"]).eval()
        mf.randomize(model, seed)
        mf.scale_head(model, x)
        fc2 = lambda m: m.fc2_modules()  # noqa: E731
        readout = [0] if plain[0]["scope"] == "cls" else list(range(1, doc["tokens"]))
    else:
        import make_family_fixtures as ff
        spec = [s for s in ff.family_specs() if s["name"] == name][0]
        torch.manual_seed(seed)
        model = spec["build"](doc["numClasses"]).eval()
        ff.randomize(model, seed)
        ff.scale_heads(spec["heads"](model), model, x)
        fc2 = spec["fc2"]
        readout = doc["readout"]
    m64 = copy.deepcopy(model).double()
    with torch.no_grad():
        logits = m64(x.double())[0]
    err = max(abs(a - b) for a, b in zip(mf.flat(logits), doc["logits"])) / max(abs(v) for v in doc["logits"])
    if err > 1e-6:
        raise RuntimeError(f"{name}: rebuilt model's logits differ from reference.json's by {err:.2e}")
    return m64, fc2(m64), readout, x.double(), err


def make(name):
    d = os.path.join(mf.OUT, name)
    with open(os.path.join(d, "reference.json")) as f:
        doc = json.load(f)
    model, fc2s, readout, x, err = rebuild(name, doc)
    L, D = doc["layers"], doc["neurons"]
    rng = random.Random(f"intervention/{name}")
    ref = NeuronPathRef(model, fc2s, readout, doc["steps"])
    cases = []
    try:
        _, probs, _ = ref.clean(x)
        for size in SIZES:
            neurons = rng.sample([(l, j) for l in range(L) for j in range(D)], size)
            settings = [[l, j, rng.choice(FACTORS)] for l, j in neurons]
            for rows in ("readout", "all"):
                after = ref.intervene(x, [tuple(s) for s in settings], rows)
                cases.append({"settings": settings, "rows": rows, "probs": mf.flat(after)})
        # All neurons of block 0 zeroed at every row: a large change every engine must reproduce.
        settings = [[0, j, 0.0] for j in range(D)]
        cases.append({"settings": settings, "rows": "all", "probs": mf.flat(ref.intervene(x, settings, "all"))})
    finally:
        ref.close()
    out = {"name": name, "seed": doc["seed"], "clean": mf.flat(probs), "cases": cases}
    with open(os.path.join(d, "intervention.json"), "w") as f:
        f.write(json.dumps(out, separators=(",", ":")) + "\n")
    moved = max(max(abs(a - b) for a, b in zip(c["probs"], out["clean"])) for c in cases)
    print(f"{name}: {len(cases)} cases, largest probability change {moved:.3f}; rebuilt logits within {err:.1e}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--timm", default=os.environ.get("TIMM_SRC"), help="folder holding the timm package")
    ap.add_argument("names", nargs="*", help=f"only these of {FIXTURES}")
    args = ap.parse_args()
    names = args.names or FIXTURES
    if any(n.startswith("timm_") for n in names):
        import make_family_fixtures as ff
        ff.load_libraries(args.timm, None)
    torch.set_num_threads(1)
    for name in names:
        make(name)


if __name__ == "__main__":
    main()

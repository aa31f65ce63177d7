#!/usr/bin/python3
"""Independent checks of neuron_path_ref.py on the fixture models (float64), and of the
generated reference.json files against a fresh run.

    /usr/bin/python3 scripts/python/selfcheck_ref.py                 # make_fixtures.py fixtures
    /usr/bin/python3 scripts/python/selfcheck_ref.py --families \
        --timm DIR --transformers DIR [NAME ...]                     # + make_family_fixtures.py ones

The family fixtures are rebuilt from the real timm / transformers code (see
make_family_fixtures.py for where DIR comes from); there the checks also cover several readout
rows that are not a prefix or suffix of the tokens, and gated FFNs (the hook at fc2's input).

1. replacing every block's readout rows with their clean values reproduces the clean F;
2. the batched, single-backward gradients equal central finite differences of a single replaced
   forward (for a few neurons, layers and steps), for both scopes;
3. the per-layer IG attributions satisfy completeness (sum_j IG_l[j] = F(x) - F(layer l zeroed at
   the readout) within 2% + 1e-4, with m = 400 steps for this check);
4. at layer 0 the reference and paper scores coincide; the JAS stored with each located path equals
   the JAS recomputed for that path;
5. remove with factor 1 (i.e. no change) gives the clean F;
6. every reference.json is reproduced by a fresh run (same paths, numbers within 1e-12; the
   new fixtures store 9 significant digits, so 1e-8 relative there). Where torch rebuilds the
   random weights with a different float32 rounding than the machine that made the files (a
   different BLAS), the logits differ by about 1e-6 and the run says so and compares within 1e-4.
"""
import argparse
import copy
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixtures as mf  # noqa: E402
from neuron_path_ref import NeuronPathRef, analyse  # noqa: E402

torch.set_num_threads(1)


def build(spec):
    seed = json.load(open(os.path.join(mf.OUT, spec["name"], "reference.json")))["seed"]
    x = mf.fixture_input(spec["image_index"], spec.get("size", 16))
    model = spec["build"](spec["act"]).eval()
    mf.randomize(model, seed)
    mf.scale_head(model, x)
    model = copy.deepcopy(model).double()
    return model, model.fc2_modules(), spec["scope"], x.double()


def build_family(spec):
    import make_family_fixtures as ff
    seed = json.load(open(os.path.join(mf.OUT, spec["name"], "reference.json")))["seed"]
    x = mf.fixture_input(spec["image_index"], spec["size"])
    torch.manual_seed(seed)
    model = spec["build"](5).eval()
    ff.randomize(model, seed)
    ff.scale_heads(spec["heads"](model), model, x)
    if spec.get("round") is not None:
        ff.round_weights(model, spec["round"])
    model = copy.deepcopy(model).double()
    fc2s = spec["fc2"](model)
    tokens = ff.rows_logits_depend_on(model, fc2s[-1], x.double())[1][1]
    return model, fc2s, spec["readout"](model, tokens), x.double()


def check(name, model, fc2s, readout, x):
    ref = NeuronPathRef(model, fc2s, readout, steps=20)
    logits, probs, w = ref.clean(x)
    t = int(probs.argmax())
    L = ref.L
    # 1. replacement with clean values == clean forward
    reps = {i: w[i].unsqueeze(0) for i in range(L)}
    with torch.no_grad(), ref._state("replace", replace=reps):
        p1 = torch.softmax(model(x)[0], -1)[t]
    assert abs(float(p1 - probs[t])) < 1e-13, (name, "replace(w) != clean")
    # 2. finite differences
    a = ref.alphas(torch.float64)
    layer = L - 1
    path = [(3 * i + 1) % w[0].shape[1] for i in range(L)]
    reps = ref.path_replacements(w, path, layer)
    reps[layer] = a[:, None, None] * w[layer].unsqueeze(0)
    g = ref.grads_through_replacement(x, t, reps)
    # gradient of the batch sum wrt block i at step k is g_i^(k); check per step via FD
    for k in (0, 7, 19):
        for i in range(layer + 1):
            for (row, j) in ((0, path[i]), (w[i].shape[0] - 1, 5)):
                eps = 1e-6

                def f(delta):
                    r1 = {b: reps[b][k:k + 1].clone() for b in reps}
                    r1[i][0, row, j] += delta
                    with torch.no_grad(), ref._state("replace", replace=r1):
                        return float(torch.softmax(model(x)[0], -1)[t])
                fd = (f(eps) - f(-eps)) / (2 * eps)
                # single-step gradient: one-row batch
                gk = ref.grads_through_replacement(x, t, {b: reps[b][k:k + 1] for b in reps})[i][row, j]
                assert abs(fd - float(gk)) < 1e-7 * max(1.0, abs(fd)), (name, k, i, row, j, fd, float(gk))
    # sum over steps of single-step grads == batched G
    tot = sum(ref.grads_through_replacement(x, t, {b: reps[b][k:k + 1] for b in reps})[layer]
              for k in range(ref.steps))
    assert torch.allclose(tot, g[layer], atol=1e-12, rtol=1e-10), (name, "batched != per-step sum")
    # 3. completeness of per-layer IG, with m = 400 so that the left Riemann sum is close
    fine = NeuronPathRef(model, fc2s, readout, steps=400)
    _, ig = fine.ig_baseline(x, t, w)
    fine.close()
    for l in range(L):
        with torch.no_grad(), ref._state("replace", replace={l: torch.zeros_like(w[l]).unsqueeze(0)}):
            p0 = float(torch.softmax(model(x)[0], -1)[t])
        total = float(ig[l].sum())
        diff = float(probs[t]) - p0
        assert abs(total - diff) < 0.02 * abs(diff) + 1e-4, (name, l, total, diff)
    # 4. layer 0 formulas agree; stored JAS == recomputed
    r = ref.locate(x, t, w, "reference")
    pp = ref.locate(x, t, w, "paper")
    assert torch.allclose(r["layerScores"][0], pp["layerScores"][0], rtol=0, atol=1e-15)
    assert r["path"][0] == pp["path"][0]
    assert abs(ref.jas(x, t, w, r["path"])["reference"] - r["jas"]) < 1e-15
    # 5. manipulation with factor 1 == clean
    assert abs(ref.manipulate(x, t, r["path"], 1.0) - float(probs[t])) < 1e-14
    ref.close()
    # 6. fixture file reproduced
    doc = json.load(open(os.path.join(mf.OUT, name, "reference.json")))
    res = analyse(model, fc2s, readout, x, steps=doc["steps"],
                  extra_paths=[j["path"] for j in doc["cases"][0]["jasOf"]])
    drift = float((torch.tensor(doc["logits"], dtype=torch.float64) - res["logits"]).abs().max())
    rounded = "family" in doc and "library" in doc   # 9 significant digits
    tol = 1e-4 if drift > 1e-8 else (1e-8 if rounded else 1e-12)
    for c_doc, c in zip(doc["cases"], res["cases"]):
        assert c_doc["target"] == c["target"]
        assert c_doc["reference"]["path"] == c["reference"]["path"]
        assert c_doc["paper"]["path"] == c["paper"]["path"]
        for f in ("reference", "paper"):
            assert abs(c_doc[f]["jas"] - c[f]["jas"]) <= tol * abs(c[f]["jas"]) + 1e-15, (name, f)
        assert c_doc["baselines"]["integratedGradients"]["path"] == c["baselines"]["integratedGradients"]["path"]
        assert c_doc["baselines"]["activation"]["path"] == c["baselines"]["activation"]["path"]
    note = f"; weights rebuilt here differ in float32 rounding (|dlogit| {drift:.1e}), JAS within {tol:g}" \
        if drift > 1e-8 else f"; JAS within {tol:g}"
    rows = readout if isinstance(readout, str) else f"{len(readout)} rows"
    print(f"{name}: ok (readout {rows}, target {t}, path {r['path']}{note})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--families", action="store_true", help="also the make_family_fixtures.py fixtures")
    ap.add_argument("--timm", default=os.environ.get("TIMM_SRC"))
    ap.add_argument("--transformers", default=os.environ.get("TRANSFORMERS_SRC"))
    ap.add_argument("names", nargs="*")
    args = ap.parse_args()
    for spec in mf.FIXTURES:
        if not args.names or spec["name"] in args.names:
            check(spec["name"], *build(spec))
    if args.families:
        import make_family_fixtures as ff
        ff.load_libraries(args.timm, args.transformers)
        torch.set_num_threads(1)
        specs = ff.family_specs()
        for spec in specs + ff.precision_specs(specs):
            if (not args.names or spec["name"] in args.names) and \
                    os.path.exists(os.path.join(mf.OUT, spec["name"], "reference.json")):
                check(spec["name"], *build_family(spec))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Independent checks of neuron_path_ref.py on the fixture models (float64), and of the
generated reference.json files against a fresh run.

    /usr/bin/python3 scripts/python/selfcheck_ref.py

1. replacing every block's readout rows with their clean values reproduces the clean F;
2. the batched, single-backward gradients equal central finite differences of a single replaced
   forward (for a few neurons, layers and steps), for both scopes;
3. the per-layer IG attributions roughly satisfy completeness (sum_j IG_l[j] ~ F(x) - F(layer l
   zeroed at the readout)), as a left Riemann sum with m = 20 allows;
4. at layer 0 the reference and paper scores coincide; the JAS stored with each located path equals
   the JAS recomputed for that path;
5. remove with factor 1 (i.e. no change) gives the clean F;
6. every reference.json is reproduced by a fresh run (same paths, numbers within 1e-12).
"""
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
    return copy.deepcopy(model).double(), x.double()


def check(spec):
    name = spec["name"]
    model, x = build(spec)
    ref = NeuronPathRef(model, model.fc2_modules(), spec["scope"], steps=20)
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
    # 3. completeness of per-layer IG (loose: left Riemann sum)
    _, ig = ref.ig_baseline(x, t, w)
    for l in range(L):
        with torch.no_grad(), ref._state("replace", replace={l: torch.zeros_like(w[l]).unsqueeze(0)}):
            p0 = float(torch.softmax(model(x)[0], -1)[t])
        total = float(ig[l].sum())
        diff = float(probs[t]) - p0
        assert abs(total - diff) < 0.2 * abs(diff) + 0.02, (name, l, total, diff)
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
    res = analyse(model, model.fc2_modules(), spec["scope"], x, steps=doc["steps"],
                  extra_paths=[j["path"] for j in doc["cases"][0]["jasOf"]])
    for c_doc, c in zip(doc["cases"], res["cases"]):
        assert c_doc["target"] == c["target"]
        assert c_doc["reference"]["path"] == c["reference"]["path"]
        assert c_doc["paper"]["path"] == c["paper"]["path"]
        assert abs(c_doc["reference"]["jas"] - c["reference"]["jas"]) < 1e-12
        assert c_doc["baselines"]["integratedGradients"]["path"] == c["baselines"]["integratedGradients"]["path"]
    print(f"{name}: ok (target {t}, path {r['path']}, IG sums vs F deltas checked)")


def main():
    for spec in mf.FIXTURES:
        check(spec)


if __name__ == "__main__":
    main()

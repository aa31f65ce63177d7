#!/usr/bin/python3
"""Gradients with respect to the input pixels, from PyTorch autograd on the float64 fixture models,
for the engine's input-gradient graph (what `neuron-path visualize` ascends).

    /usr/bin/python3 scripts/python/input_gradient_ref.py --timm /tmp/np-src/timm [NAME ...]

(timm extracted as test/fixtures/README.md says.) Each model is rebuilt exactly as
selfcheck_ref.py rebuilds it (the seed in its reference.json), and for the input recorded there
three objectives are differentiated with respect to pixel_values:
  - neuron (l, j) summed over the readout rows (the neuron's value, docs/method.md);
  - the same neuron summed over the patch tokens (the last gh*gw rows);
  - a class logit.
Written to test/fixtures/NAME/input-gradients.json: per objective its value and the gradient
[C*H*W], 9 significant digits. CI never runs this: the files are committed.

Each autograd gradient is checked against central differences of the float64 model at 48 pixels.
On XCiT, torch 1.13's autograd disagrees with its own finite differences through the whole model
(every piece alone agrees: patch embedding, each block, attention, LPI, MLP); there the gradient
recorded is central differences at every pixel (eps 1e-6, float64: ~1e-9 of the largest element),
and `method` says so.
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixtures as mf  # noqa: E402
import make_family_fixtures as ff  # noqa: E402
from selfcheck_ref import build_family  # noqa: E402

# plain, a strided-convolution stem (XCiT's ConvPatchEmbed: 3x3 stride-2 Conv, BatchNorm, GELU),
# gated (SwiGLU), registers.
NAMES = ["timm_vit_op17", "timm_xcit_op14", "timm_eva02_op14", "timm_reg4_avg_op17"]


def objectives(model, fc2s, readout, x, grid):
    """(description, value, gradient) for each objective."""
    L = len(fc2s)
    box = {}
    handles = [f.register_forward_pre_hook(lambda _m, inp, l=l: box.__setitem__(l, inp[0])) for l, f in enumerate(fc2s)]
    try:
        with torch.no_grad():
            box.clear()
            logits = model(x)[0]
            tokens, width = box[L - 1].shape[1], box[L - 1].shape[2]
        patches = list(range(tokens - grid[0] * grid[1], tokens))
        specs = [
            {"layer": L - 1, "neuron": (7 * L + 3) % width, "rows": "readout", "rowIndices": readout},
            {"layer": 0, "neuron": 5 % width, "rows": "patches", "rowIndices": patches},
            {"class": int(logits.argmax())},
        ]
        out = []
        for spec in specs:
            xg = x.clone().requires_grad_(True)
            box.clear()
            logit = model(xg)[0]
            if "class" in spec:
                value = logit[spec["class"]]
            else:
                value = box[spec["layer"]][0, spec["rowIndices"], spec["neuron"]].sum()
            (grad,) = torch.autograd.grad(value, xg)
            grad, method = grad.flatten(), "autograd"
            f = objective_of(model, box, spec)
            if not agrees(f, x, grad):
                grad, method = central_differences(f, x), "central differences"
            out.append({**spec, "value": ff.round_floats(float(value)), "method": method, "grad": ff.round_floats(grad.tolist())})
        return out
    finally:
        for h in handles:
            h.remove()


def objective_of(model, box, spec):
    def f(x):
        with torch.no_grad():
            logit = model(x)[0]
        return float(logit[spec["class"]] if "class" in spec else box[spec["layer"]][0, spec["rowIndices"], spec["neuron"]].sum())
    return f


def difference(f, x, i, eps=1e-6):
    a, b = x.clone().flatten(), x.clone().flatten()
    a[i] += eps
    b[i] -= eps
    return (f(a.view_as(x)) - f(b.view_as(x))) / (2 * eps)


def agrees(f, x, grad):
    scale = float(grad.abs().max())
    picks = torch.linspace(0, x.numel() - 1, 48).long().tolist()
    return all(abs(difference(f, x, i) - float(grad[i])) <= 1e-6 * scale for i in picks)


def central_differences(f, x):
    return torch.tensor([difference(f, x, i) for i in range(x.numel())], dtype=torch.float64)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--timm", default=os.environ.get("TIMM_SRC"))
    ap.add_argument("names", nargs="*")
    args = ap.parse_args()
    ff.load_libraries(args.timm, None)
    torch.set_num_threads(1)
    specs = {s["name"]: s for s in ff.family_specs()}
    for name in args.names or NAMES:
        spec = specs[name]
        model, fc2s, readout, x = build_family(spec)
        recorded = json.load(open(os.path.join(mf.OUT, name, "reference.json")))["logits"]
        with torch.no_grad():
            drift = float((model(x)[0] - torch.tensor(recorded, dtype=torch.float64)).abs().max())
        if drift > 1e-5 * max(abs(v) for v in recorded):
            sys.exit(f"{name}: the rebuilt model's logits differ from reference.json's by {drift:.2e}")
        grid = ff.grid_of(spec["size"])
        result = objectives(model, fc2s, readout, x, grid)
        path = os.path.join(mf.OUT, name, "input-gradients.json")
        with open(path, "w") as f:
            json.dump({"name": name, "source": "scripts/python/input_gradient_ref.py", "objectives": result}, f)
            f.write("\n")
        largest = max(max(abs(v) for v in o["grad"]) for o in result)
        methods = ", ".join(o["method"] for o in result)
        print(f"{name}: {len(result)} objectives ({methods}), largest |gradient| {largest:.3g}, {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()

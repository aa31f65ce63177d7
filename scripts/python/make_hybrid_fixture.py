#!/usr/bin/python3
"""A ResNet-hybrid ViT for the input-gradient rules of the hybrid stems: timm's own
vit_tiny_r_s16_p8 code (a ResNetV2 stem: weight-standardised 7x7 stride-2 Conv with 'same'
padding, GroupNorm(32) + ReLU, 3x3 stride-2 MaxPool with 'same' (-inf) padding; then the patch
Conv), shrunk to a 32x32 input and 4x4 patches on the stem's 8x8 map (a 2x2 grid), width 16,
2 blocks, 5 classes, random weights
(seed 0), exported with torch.onnx (opset 17), and its input gradients from PyTorch autograd in
float64, checked against central differences as input_gradient_ref.py does.

    /usr/bin/python3 scripts/python/make_hybrid_fixture.py --timm /tmp/np-src/timm

(timm extracted as test/fixtures/README.md says; made with aa4b5850.) Writes
test/fixtures/timm_hybrid_op17/model.onnx and input-gradients.json (the input, and per objective
its value and gradient: a neuron of the last block at the readout row, neuron 5 of block 0 summed
over the patch tokens, the top logit). No reference.json: the fixture is for the input gradient only.
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_family_fixtures as ff  # noqa: E402
import make_fixtures as mf  # noqa: E402
from input_gradient_ref import objectives  # noqa: E402

NAME = "timm_hybrid_op17"
SIZE = 32
PATCH = 4   # on the stem's output, a quarter of the input's size


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--timm", default=os.environ.get("TIMM_SRC"))
    args = ap.parse_args()
    ff.load_libraries(args.timm, None)
    import timm
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = timm.create_model("vit_tiny_r_s16_p8_224", pretrained=False, img_size=SIZE, patch_size=PATCH, embed_dim=16, depth=2,
                              num_heads=2, mlp_ratio=4, num_classes=5).eval()
    out = os.path.join(mf.OUT, NAME)
    os.makedirs(out, exist_ok=True)
    x = torch.rand(1, 3, SIZE, SIZE) * 4 - 2   # about the range of normalised pixels
    with torch.no_grad():
        torch.onnx.export(model, (x,), os.path.join(out, "model.onnx"), opset_version=17, input_names=["pixel_values"],
                          output_names=["logits"], do_constant_folding=True, dynamic_axes={"pixel_values": {0: "batch"}, "logits": {0: "batch"}})
    model = model.double()
    fc2s = [b.mlp.fc2 for b in model.blocks]
    grid = [SIZE // 4 // PATCH, SIZE // 4 // PATCH]
    result = objectives(model, fc2s, [0], x.double(), grid)
    with open(os.path.join(out, "input-gradients.json"), "w") as f:
        json.dump({"name": NAME, "source": "scripts/python/make_hybrid_fixture.py",
                   "input": {"shape": list(x.shape), "data": ff.round_floats(x.flatten().double().tolist())}, "objectives": result}, f)
        f.write("\n")
    largest = max(max(abs(v) for v in o["grad"]) for o in result)
    print(f"{NAME}: {len(result)} objectives ({', '.join(o['method'] for o in result)}), largest |gradient| {largest:.3g}, "
          f"{os.path.getsize(os.path.join(out, 'model.onnx'))} bytes of ONNX")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Times the PyTorch reference implementation of ALGORITHM.md (neuron_path_ref.py) on a ViT of a
given shape with random weights, for `npm run bench` to compare against. Prints one JSON line:
{"seconds", "maxRssMb", "forwardPasses", "backwardPasses"}.

  /usr/bin/python3 scripts/python/bench_reference.py --image 224 --patch 16 --width 384 --layers 12 \
      --heads 6 --ffn 1536 --classes 1000 --threads 2 --steps 20 --baselines activation
  /usr/bin/python3 scripts/python/bench_reference.py --timm DIR --timm-model vit_small_patch16_224 ...
      (the timm model itself, random weights as exported by export_timm_vit.py; see timm_source.py)
"""
import argparse
import json
import os
import resource
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import TinyViT  # noqa: E402
from neuron_path_ref import NeuronPathRef  # noqa: E402
from timm_source import timm_vit  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    for name in ("image", "patch", "width", "layers", "heads", "ffn", "classes", "threads", "steps"):
        ap.add_argument(f"--{name}", type=int)
    ap.add_argument("--opset", type=int, default=None, help="ignored (the ONNX generator's option)")
    ap.add_argument("--baselines", default="activation")
    ap.add_argument("--timm", help="folder with timm's source: time the timm model --timm-model instead of a TinyViT")
    ap.add_argument("--timm-model", default="vit_small_patch16_224")
    args = ap.parse_args()
    shape = ("image", "patch", "width", "layers", "heads", "ffn", "classes")
    if not args.timm and any(getattr(args, k) is None for k in shape):
        ap.error(f"give --timm, or every one of {', '.join('--' + k for k in shape)}")
    torch.set_num_threads(args.threads or os.cpu_count())
    torch.manual_seed(0)
    if args.timm:
        model = timm_vit(args.timm, args.timm_model)
        fc2s = [block.mlp.fc2 for block in model.blocks]
        x = torch.randn(1, *model.default_cfg.get("input_size", (3, 224, 224)))
    else:
        model = TinyViT(args.image, args.patch, args.width, args.ffn, args.layers, args.heads, args.classes, "gelu-erf").eval()
        fc2s = model.fc2_modules()
        x = torch.randn(1, 3, args.image, args.image)
    ref = NeuronPathRef(model, fc2s, "cls", steps=args.steps or 20)
    baselines = [b for b in args.baselines.split(",") if b and b != "none"]
    m, L = ref.steps, ref.L

    start = time.perf_counter()
    _, probs, w = ref.clean(x)
    target = int(torch.argmax(probs))
    res = ref.locate(x, target, w, "reference")  # L layer steps + the path's JAS
    forward, backward = 1 + (L + 1) * m, L + 1
    paths = [res["path"]]
    if "activation" in baselines:
        paths.append(ref.activation_baseline(w))
        ref.jas(x, target, w, paths[-1])
        forward, backward = forward + m, backward + 1
    if "ig" in baselines:
        paths.append(ref.ig_baseline(x, target, w)[0])
        ref.jas(x, target, w, paths[-1])
        forward, backward = forward + (L + 1) * m, backward + L + 1
    if "random" in baselines:
        gen = torch.Generator().manual_seed(0)
        for _ in range(10):  # the engine's default count
            rp = torch.randint(0, w[0].shape[-1], (L,), generator=gen).tolist()
            ref.jas(x, target, w, rp)
            paths.append(rp)
            forward, backward = forward + m, backward + 1
    for p in paths:
        ref.remove(x, target, p)
        ref.enhance(x, target, p)
        forward += 2
    seconds = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "maxRssMb": rss, "forwardPasses": forward, "backwardPasses": backward}))


if __name__ == "__main__":
    main()

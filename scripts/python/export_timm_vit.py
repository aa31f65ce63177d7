#!/usr/bin/python3
"""Exports a timm vision transformer with random weights to ONNX with torch.onnx, as a user would
export their own model: the benchmark's real-export models (`npm run bench`).

    /usr/bin/python3 scripts/python/export_timm_vit.py --timm DIR --model vit_small_patch16_224 \
        --out vit-s-timm.onnx [--opset 17] [--seed 0] [--fixed-batch]

DIR holds timm's source, extracted from its git repository (see timm_source.py). The batch axis is
exported dynamic unless --fixed-batch. Prints one JSON line: {"model", "params", "opset"}.
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timm_source import timm_vit  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--timm", required=True, help="folder that contains timm's source (the `timm` package)")
    ap.add_argument("--model", default="vit_small_patch16_224")
    ap.add_argument("--out", required=True)
    ap.add_argument("--opset", type=int, default=17)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--fixed-batch", action="store_true", help="export with a batch of 1 (no dynamic axes)")
    args = ap.parse_args()

    model = timm_vit(args.timm, args.model, args.seed)
    x = torch.randn(1, *model.default_cfg.get("input_size", (3, 224, 224)))
    dynamic = None if args.fixed_batch else {"pixel_values": {0: "batch"}, "logits": {0: "batch"}}
    with torch.no_grad():
        torch.onnx.export(model, (x,), args.out, opset_version=args.opset, input_names=["pixel_values"],
                          output_names=["logits"], do_constant_folding=True, dynamic_axes=dynamic)
    print(json.dumps({"model": args.model, "params": sum(p.numel() for p in model.parameters()), "opset": args.opset}))


if __name__ == "__main__":
    main()

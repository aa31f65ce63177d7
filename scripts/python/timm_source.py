"""Builds timm models from an extracted timm source folder (timm is never installed or copied into
this repository), for the benchmark's real-export models. Needs Debian's python3-torch and
python3-torchvision (timm imports torchvision).

    git --git-dir=<pytorch-image-models>/repo archive HEAD timm | tar -x -C DIR
"""
import sys


def timm_vit(source_dir, name, seed=0):
    """timm model `name` with seeded random weights (timm's own initialisation), in eval mode."""
    import torch
    sys.path.insert(0, source_dir)
    import timm
    torch.manual_seed(seed)
    return timm.create_model(name, pretrained=False).eval()

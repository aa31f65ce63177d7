"""Imports timm from an extracted source folder (never copied into this repository), for the
benchmark's real-export models. Debian has no torchvision; timm imports it only for data pipelines
and frozen batch norms, which a ViT does not use, so when it is missing those imports get inert
stand-ins.

    git --git-dir=<pytorch-image-models>/repo archive HEAD timm | tar -x -C DIR
    timm = import_timm(DIR)
"""
import importlib.abc
import importlib.machinery
import sys
import types


class _StubType(type):
    def __getattr__(cls, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return f"{cls.__name__}.{name}"


class _StubModule(types.ModuleType):
    __path__ = []

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        value = _StubType(name, (), {})
        setattr(self, name, value)
        return value


class _TorchvisionStandIn(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Answers every `torchvision...` import with a module of inert classes."""

    def find_spec(self, name, path, target=None):
        if name == "torchvision" or name.startswith("torchvision."):
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None

    def create_module(self, spec):
        return _StubModule(spec.name)

    def exec_module(self, module):
        pass


def import_timm(source_dir):
    try:
        import torchvision  # noqa: F401
    except ImportError:
        sys.meta_path.insert(0, _TorchvisionStandIn())
    sys.path.insert(0, source_dir)
    import timm
    return timm


def timm_vit(source_dir, name, seed=0):
    """A timm ViT with seeded random weights (timm's own initialisation), in eval mode."""
    import torch
    timm = import_timm(source_dir)
    torch.manual_seed(seed)
    return timm.create_model(name, pretrained=False).eval()

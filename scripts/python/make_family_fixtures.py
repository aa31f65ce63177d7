#!/usr/bin/python3
"""Fixtures for the ViT families users bring: tiny models built from the REAL timm and Hugging Face
transformers model code, exported with torch.onnx, with exact float64 results of neuron_path_ref.py.

    /usr/bin/python3 scripts/python/make_family_fixtures.py --timm DIR --transformers DIR [NAME ...]

DIR is a folder that holds the `timm` (resp. `transformers`) package; also read from the
environment variables TIMM_SRC and TRANSFORMERS_SRC. Neither library is installed or committed here:
extract them from git (the transformers commit is the main branch at the v4.40 release, the last
history that runs on Debian's torch 1.13):

    mkdir -p /tmp/np-src/timm /tmp/np-src/hf
    git --git-dir=<pytorch-image-models.git> archive HEAD timm | tar -x -C /tmp/np-src/timm
    git --git-dir=<transformers.git> archive 5728b5ad0071be8fa062f8b72c1345343d9b1a48 src/transformers \
        | tar -x -C /tmp/np-src/hf --strip-components=1
    apt-get install python3-torch python3-onnx python3-torchvision python3-regex python3-tqdm \
        python3-filelock python3-packaging
    /usr/bin/python3 scripts/python/make_family_fixtures.py --timm /tmp/np-src/timm --transformers /tmp/np-src/hf

timm was made with huggingface/pytorch-image-models aa4b5850c1543fa488abf260f18390eda46cf85d.
transformers imports huggingface_hub and safetensors at import time but never uses them for a
randomly initialised model; this script writes stand-ins for both into a temporary folder.

Every model: 32x32 input, patch 8 (a 4x4 grid), 2-3 blocks, width 32, FFN 64 (gated FFNs: their own
rounding of the hidden size), a few classes, random weights from a seed per fixture (accepted only
when every argmax the fixture records wins by a clear margin, as make_fixtures.py does). The
readout rows are written down per family from the library's head code (and checked here against
the rows the torch logits depend on), never read from the ONNX graph, so they check the engine's
graph-based detection. Also written: fp16 and bf16 copies of one export (reference computed on the
float32 upcast of the rounded weights) and an int8-quantized model for an error test.
See test/fixtures/README.md for the table.
"""
import argparse
import copy
import json
import math
import os
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixtures as mf  # noqa: E402
from neuron_path_ref import analyse  # noqa: E402

IMAGE, PATCH, GRID = 32, 8, (4, 4)
MAX_TOTAL_BYTES = 10_000_000
TRANSFORMERS_COMMIT = "5728b5ad0071be8fa062f8b72c1345343d9b1a48"
TIMM_COMMIT = "aa4b5850c1543fa488abf260f18390eda46cf85d"


# ============================================================================ library loading
STUB_MODULE = r'''
"""Stand-in written by make_family_fixtures.py: transformers imports these names; a randomly
initialised model never calls them."""
import importlib, os, tempfile
_SUBMODULES = {"constants", "utils", "file_download", "hf_api", "errors", "_deprecation", "torch"}
_CACHE = os.path.join(tempfile.gettempdir(), "neuron-path-hf-stub-cache")


def _stub(name):
    class Stub:
        def __init__(self, *a, **k):
            pass

        def __call__(self, *a, **k):
            return a[0] if len(a) == 1 and callable(a[0]) and not k else self

        def __getattr__(self, n):
            if n.startswith("__"):
                raise AttributeError(n)
            return self
    Stub.__name__ = Stub.__qualname__ = name
    return Stub


def __getattr__(name):
    if name.startswith("__"):
        raise AttributeError(name)
    if name in _SUBMODULES:
        return importlib.import_module(__name__ + "." + name)
    if name.endswith(("Error", "Exception")):
        return type(name, (Exception,), {})
    if name.isupper():
        if "REGEX" in name:
            return r"^[0-9a-f]{40}$"
        if any(k in name for k in ("CACHE", "HOME", "PATH", "DIR")):
            return _CACHE
        if "ENDPOINT" in name or "URL" in name:
            return "http://127.0.0.1"
        return False
    if name.startswith(("_deprecate", "validate")):
        return lambda *a, **k: (a[0] if len(a) == 1 and callable(a[0]) and not k else (lambda f: f))
    return _stub(name)
'''


def write_stubs(root):
    """huggingface_hub and safetensors stand-ins, with dist-info so version checks pass."""
    for pkg, version in (("huggingface_hub", "0.22.2"), ("safetensors", "0.4.2")):
        base = os.path.join(root, pkg)
        for sub in ("", "constants", "utils", "file_download", "hf_api", "errors", "torch"):
            d = os.path.join(base, sub)
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, "__init__.py"), "w") as f:
                f.write((f'__version__ = "{version}"\n' if not sub else "") + STUB_MODULE)
            with open(os.path.join(d, "_deprecation.py"), "w") as f:
                f.write(STUB_MODULE)
        dist = os.path.join(root, f"{pkg}-{version}.dist-info")
        os.makedirs(dist, exist_ok=True)
        with open(os.path.join(dist, "METADATA"), "w") as f:
            f.write(f"Metadata-Version: 2.1\nName: {pkg.replace('_', '-')}\nVersion: {version}\n")


def load_libraries(timm_dir, hf_dir):
    for d, pkg in ((timm_dir, "timm"), (hf_dir, "transformers")):
        if not d or not os.path.isdir(os.path.join(d, pkg)):
            sys.exit(f"no {pkg} package under {d!r}: extract it as the docstring of {__file__} says")
    stubs = tempfile.mkdtemp(prefix="neuron-path-stubs-")
    write_stubs(stubs)
    sys.path[:0] = [timm_dir, hf_dir, stubs]
    import warnings
    warnings.filterwarnings("ignore")
    import timm
    import transformers
    print(f"timm {timm.__version__} from {timm_dir}; transformers {transformers.__version__} from {hf_dir}",
          flush=True)
    return timm, transformers


# ============================================================================ model builders
class Logits(nn.Module):
    """Hugging Face classifier -> its logits tensor (ONNX export wants a plain tensor output)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, pixel_values):
        return self.model(pixel_values=pixel_values, return_dict=False)[0]


class PooledLinear(nn.Module):
    """A linear probe on a Hugging Face vision model's pooler_output (CLIP, SigLIP have no classifier)."""

    def __init__(self, model, width, classes):
        super().__init__()
        self.model = model
        self.classifier = nn.Linear(width, classes)

    def forward(self, pixel_values):
        return self.classifier(self.model(pixel_values=pixel_values, return_dict=False)[1])


TINY = dict(img_size=IMAGE, patch_size=PATCH, embed_dim=32, num_heads=2)


def timm_vit(classes, depth=2, **kw):
    from timm.models.vision_transformer import VisionTransformer
    return VisionTransformer(num_classes=classes, depth=depth, mlp_ratio=2.0, **TINY, **kw)


def timm_readout(m, tokens):
    """Rows timm's VisionTransformer / Eva head reads (their pool() and forward_head())."""
    if type(m).__name__ == "VisionTransformerDistilled":
        return [0, 1]
    if getattr(m, "attn_pool", None) is not None:
        start = 0 if getattr(m, "pool_include_prefix", False) else m.num_prefix_tokens
        return list(range(start, tokens))
    if m.global_pool == "token":
        return [0]
    if m.global_pool == "avg":
        start = 0 if getattr(m, "pool_include_prefix", False) else m.num_prefix_tokens
        return list(range(start, tokens))
    raise ValueError(f"global_pool {m.global_pool!r}")


def timm_fc2(m):
    return [b.mlp.fc2 for b in m.blocks]


def timm_heads(m):
    return [m.head] + ([m.head_dist] if hasattr(m, "head_dist") else [])


def timm_spec(name, build, source, family, opset, dynamic, ffn="plain"):
    return dict(name=name, library="timm", build=build, source=source, family=family, opset=opset,
                dynamic=dynamic, ffn=ffn, fc2=timm_fc2, heads=timm_heads,
                readout=timm_readout)


def hf_config(cls_name, classes=None, **kw):
    import transformers
    base = dict(image_size=IMAGE, patch_size=PATCH, hidden_size=32, num_hidden_layers=2,
                num_attention_heads=2)
    if classes is not None:
        base["num_labels"] = classes
    base.update(kw)
    return getattr(transformers, cls_name)(**base)


def hf_model(model_cls, config_cls, classes, **kw):
    import transformers
    return Logits(getattr(transformers, model_cls)(hf_config(config_cls, classes, **kw)))


def hf_spec(name, build, source, family, opset, dynamic, fc2, heads, readout, ffn="plain"):
    return dict(name=name, library="transformers", build=build, source=source, family=family,
                opset=opset, dynamic=dynamic, ffn=ffn, fc2=fc2, heads=heads, readout=readout)


def _timm_distilled(c):
    from timm.models.deit import VisionTransformerDistilled
    return VisionTransformerDistilled(num_classes=c, depth=2, mlp_ratio=2.0, **TINY)


def _timm_eva(c, **kw):
    from timm.models.eva import Eva
    return Eva(num_classes=c, depth=2, **TINY, **kw)


def _timm_beit(c):
    from timm.models.beit import Beit
    return Beit(num_classes=c, depth=2, mlp_ratio=2.0, use_rel_pos_bias=True, init_values=0.1, **TINY)


def hf_layers(attr):
    """fc2 of every encoder layer of a Hugging Face model wrapped in Logits/PooledLinear."""
    def get(m):
        base = m.model
        for part in attr[0].split("."):
            base = getattr(base, part)
        out = []
        for layer in base:
            mod = layer
            for part in attr[1].split("."):
                mod = getattr(mod, part)
            out.append(mod)
        return out
    return get


def hf_cls_heads(*names):
    def get(m):
        return [getattr(m.model, n) if hasattr(m.model, n) else getattr(m, n) for n in names]
    return get


def all_rows(_m, tokens):
    return list(range(tokens))


def rows_from_1(_m, tokens):
    return list(range(1, tokens))


def cls_row(_m, _tokens):
    return [0]


def cls_and_dist(_m, _tokens):
    return [0, 1]


def family_specs():
    S = []

    def both(make, ops=((14, False), (17, True))):
        for opset, dyn in ops:
            S.append(make(opset, dyn))

    def suffix(opset, dyn):
        return f"_op{opset}" + ("" if dyn else "_fixed")

    # ---------------------------------------------------------------- timm, families that ran before
    S.append(timm_spec("timm_vit" + suffix(17, True), lambda c: timm_vit(c, depth=3),
                       "timm.models.vision_transformer.VisionTransformer(global_pool='token')",
                       "timm ViT (class token head)", 17, True))
    S.append(timm_spec("timm_avg" + suffix(14, False), lambda c: timm_vit(c, global_pool="avg"),
                       "timm VisionTransformer(global_pool='avg') (fc_norm after the mean)",
                       "timm avg-pool", 14, False))
    S.append(timm_spec("timm_layerscale" + suffix(17, True), lambda c: timm_vit(c, init_values=0.5),
                       "timm VisionTransformer(init_values=0.5) (LayerScale ls1/ls2)",
                       "timm LayerScale", 17, True))
    S.append(timm_spec("timm_no_embed_class" + suffix(14, False),
                       lambda c: timm_vit(c, no_embed_class=True),
                       "timm VisionTransformer(no_embed_class=True)", "timm no_embed_class", 14, False))
    S.append(timm_spec("timm_reg4_token" + suffix(14, True), lambda c: timm_vit(c, reg_tokens=4),
                       "timm VisionTransformer(reg_tokens=4, global_pool='token')",
                       "timm 4 registers + class-token head", 14, True))
    S.append(timm_spec("timm_clip_quickgelu" + suffix(17, False),
                       lambda c: timm_vit(c, pre_norm=True, act_layer="quick_gelu"),
                       "timm VisionTransformer(pre_norm=True, act_layer='quick_gelu') (CLIP layout, norm_pre)",
                       "timm CLIP QuickGELU", 17, False))
    S.append(timm_spec("timm_eva" + suffix(14, True), lambda c: _timm_eva(c, mlp_ratio=2.0),
                       "timm.models.eva.Eva(mlp_ratio=2) (EVA-01: GELU, abs. position embedding, avg pool)",
                       "timm EVA (GELU)", 14, True))
    S.append(timm_spec("timm_beit" + suffix(17, True), _timm_beit,
                       "timm.models.beit.Beit(use_rel_pos_bias=True, init_values=0.1) (avg pool)",
                       "timm BEiT", 17, True))
    # ---------------------------------------------------------------- timm, families new in issue 9
    both(lambda o, d: timm_spec("timm_reg4_avg" + suffix(o, d),
                                lambda c: timm_vit(c, reg_tokens=4, global_pool="avg"),
                                "timm VisionTransformer(reg_tokens=4, global_pool='avg')",
                                "timm registers + avg pool", o, d))
    both(lambda o, d: timm_spec("timm_gap" + suffix(o, d),
                                lambda c: timm_vit(c, class_token=False, global_pool="avg"),
                                "timm VisionTransformer(class_token=False, global_pool='avg')",
                                "timm no class token (gap)", o, d), ((14, True), (17, False)))
    both(lambda o, d: timm_spec("timm_deit_distilled" + suffix(o, d), _timm_distilled,
                                "timm.models.deit.VisionTransformerDistilled (head + head_dist averaged)",
                                "DeiT distilled (timm)", o, d))
    both(lambda o, d: timm_spec("timm_siglip_map" + suffix(o, d),
                                lambda c: timm_vit(c, class_token=False, global_pool="map"),
                                "timm VisionTransformer(class_token=False, global_pool='map') "
                                "(SigLIP attention-pool head with its own MLP)",
                                "SigLIP attention-pool (MAP) head (timm)", o, d), ((14, True), (17, False)))
    S.append(timm_spec("timm_eva02" + suffix(14, True),
                       lambda c: _timm_eva(c, mlp_ratio=4 * 2 / 3, swiglu_mlp=True, use_rot_pos_emb=True,
                                           ref_feat_shape=GRID),
                       "timm Eva(swiglu_mlp=True, use_rot_pos_emb=True) (EVA-02 tiny layout: SwiGLU "
                       "fc1_g/fc1_x, RoPE)", "EVA-02 (timm, SwiGLU + RoPE)", 14, True, "gated"))
    S.append(timm_spec("timm_eva02_scale_mlp" + suffix(17, False),
                       lambda c: _timm_eva(c, mlp_ratio=4 * 2 / 3, swiglu_mlp=True, scale_mlp=True,
                                           qkv_fused=False, use_rot_pos_emb=True, ref_feat_shape=GRID),
                       "timm Eva(swiglu_mlp=True, scale_mlp=True, qkv_fused=False, use_rot_pos_emb=True) "
                       "(EVA-02 base layout: LayerNorm between the SwiGLU product and fc2)",
                       "EVA-02 (timm, SwiGLU + RoPE, scale_mlp)", 17, False, "gated"))
    # ---------------------------------------------------------------- Hugging Face transformers
    vit_fc2 = hf_layers(("vit.encoder.layer", "output.dense"))
    S.append(hf_spec("hf_vit" + suffix(17, True),
                     lambda c: hf_model("ViTForImageClassification", "ViTConfig", c, intermediate_size=64),
                     "transformers ViTForImageClassification(ViTConfig)", "HF ViT", 17, True, vit_fc2,
                     hf_cls_heads("classifier"), cls_row))
    S.append(hf_spec("hf_clip" + suffix(14, True),
                     lambda c: PooledLinear(
                         __import__("transformers").CLIPVisionModel(
                             hf_config("CLIPVisionConfig", intermediate_size=64, hidden_act="quick_gelu")),
                         32, c),
                     "transformers CLIPVisionModel(CLIPVisionConfig, quick_gelu) + nn.Linear on pooler_output "
                     "(post_layernorm of token 0)", "HF CLIP vision + linear head", 14, True,
                     hf_layers(("vision_model.encoder.layers", "mlp.fc2")), hf_cls_heads("classifier"),
                     cls_row))
    S.append(hf_spec("hf_beit" + suffix(14, False),
                     lambda c: hf_model("BeitForImageClassification", "BeitConfig", c, intermediate_size=64,
                                        use_relative_position_bias=True, use_mean_pooling=True,
                                        layer_scale_init_value=0.1),
                     "transformers BeitForImageClassification(BeitConfig(use_relative_position_bias, "
                     "use_mean_pooling))", "HF BEiT", 14, False,
                     hf_layers(("beit.encoder.layer", "output.dense")), hf_cls_heads("classifier"),
                     rows_from_1))
    both(lambda o, d: hf_spec("hf_deit_distilled" + suffix(o, d),
                              lambda c: hf_model("DeiTForImageClassificationWithTeacher", "DeiTConfig", c,
                                                 intermediate_size=64),
                              "transformers DeiTForImageClassificationWithTeacher(DeiTConfig) "
                              "(cls_classifier + distillation_classifier averaged)",
                              "DeiT distilled (HF WithTeacher)", o, d,
                              hf_layers(("deit.encoder.layer", "output.dense")),
                              hf_cls_heads("cls_classifier", "distillation_classifier"), cls_and_dist),
         ((14, False), (17, True)))
    both(lambda o, d: hf_spec("hf_dinov2" + suffix(o, d),
                              lambda c: hf_model("Dinov2ForImageClassification", "Dinov2Config", c,
                                                 mlp_ratio=2, layerscale_value=0.5),
                              "transformers Dinov2ForImageClassification(Dinov2Config) "
                              "(classifier on concat(token 0, mean of tokens 1:))", "DINOv2 (HF)", o, d,
                              hf_layers(("dinov2.encoder.layer", "mlp.fc2")), hf_cls_heads("classifier"),
                              all_rows))
    both(lambda o, d: hf_spec("hf_dinov2_swiglu" + suffix(o, d),
                              lambda c: hf_model("Dinov2ForImageClassification", "Dinov2Config", c,
                                                 mlp_ratio=2, layerscale_value=0.5, use_swiglu_ffn=True),
                              "transformers Dinov2ForImageClassification(Dinov2Config(use_swiglu_ffn=True)) "
                              "(fused weights_in, chunk, silu(x1) * x2, weights_out)",
                              "DINOv2 SwiGLU (HF)", o, d,
                              hf_layers(("dinov2.encoder.layer", "mlp.weights_out")), hf_cls_heads("classifier"),
                              all_rows, "gated"), ((14, True), (17, False)))
    S.append(hf_spec("hf_siglip_map" + suffix(17, True),
                     lambda c: PooledLinear(
                         __import__("transformers").SiglipVisionModel(
                             hf_config("SiglipVisionConfig", intermediate_size=64)), 32, c),
                     "transformers SiglipVisionModel(SiglipVisionConfig) + nn.Linear on pooler_output "
                     "(SiglipMultiheadAttentionPoolingHead: probe attends to every token, own MLP)",
                     "SigLIP attention-pool (MAP) head (HF)", 17, True,
                     hf_layers(("vision_model.encoder.layers", "mlp.fc2")), hf_cls_heads("classifier"),
                     all_rows))
    S.append(hf_spec("hf_siglip_classifier" + suffix(14, True),
                     lambda c: hf_model("SiglipForImageClassification", "SiglipConfig", None,
                                        num_labels=c, vision_config=dict(
                                            image_size=IMAGE, patch_size=PATCH, hidden_size=32,
                                            intermediate_size=64, num_hidden_layers=2, num_attention_heads=2)),
                     "transformers SiglipForImageClassification(SiglipConfig) (v4.40: mean of tokens 1: "
                     "of a model without class token, so patch 0 is not read)",
                     "SigLIP classifier (HF, tokens 1:)", 14, True,
                     hf_layers(("vision_model.encoder.layers", "mlp.fc2")), hf_cls_heads("classifier"),
                     rows_from_1))
    for i, s in enumerate(S):
        s["image_index"] = 20 + i
        s["seed_base"] = 5000 + 101 * i
    return S


# ============================================================================ weights
NAMED_EMBEDDINGS = ("cls_token", "reg_token", "dist_token", "pos_embed", "position_embedding",
                    "class_embedding", "distillation_token", "mask_token", "latent", "probe",
                    "relative_position_bias_table")
LAYER_SCALES = ("gamma", "lambda", "ls1", "ls2", "layer_scale")


def randomize(model, seed):
    """Random weights with useful scales, whatever the library names them: matrices and convs
    N(0, 1/fan_in), tokens and position tables N(0, 0.5^2), LayerScale 0.5 +- 0.2, norm gains
    1 +- 0.1, biases N(0, 0.1^2)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            leaf = name.rsplit(".", 1)[-1]
            if any(k in name for k in NAMED_EMBEDDINGS):
                p.copy_(torch.randn(p.shape, generator=g) * 0.5)
            elif p.ndim >= 2:
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(p[0].numel()))
            elif any(k in name for k in LAYER_SCALES):
                p.copy_(0.5 + 0.2 * torch.randn(p.shape, generator=g))
            elif leaf == "weight":
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))


def scale_heads(heads, model, x, logit_std=1.6):
    with torch.no_grad():
        s = float(model(x)[0].std())
        for h in heads:
            for p in h.parameters():
                p.mul_(logit_std / s)


def rows_logits_depend_on(model, fc2, x):
    """Rows of the last block's fc2 input that the logits depend on (torch autograd)."""
    box = {}

    def hook(_m, inputs):
        box["u"] = inputs[0].detach().requires_grad_(True)
        return (box["u"],) + tuple(inputs[1:])
    h = fc2.register_forward_pre_hook(hook)
    try:
        with torch.enable_grad():
            model(x).sum().backward()
    finally:
        h.remove()
    g = box["u"].grad[0].abs().sum(-1)
    return [int(i) for i in torch.nonzero(g > 0).flatten()], box["u"].shape


def scope_of(readout, tokens):
    patches = list(range(tokens - GRID[0] * GRID[1], tokens))
    if readout == [0]:
        return "cls"
    if readout == patches:
        return "patches"
    if readout == list(range(tokens)):
        return "all"
    return "tokens"


def round_floats(v):
    """10 significant digits (5e-11 relative): far below float32 noise, files a third smaller."""
    if isinstance(v, float):
        return float(f"{v:.10g}")
    if isinstance(v, list):
        return [round_floats(a) for a in v]
    if isinstance(v, dict):
        return {k: round_floats(a) for k, a in v.items()}
    return v


# ============================================================================ one fixture
def analyse_model(spec, model, x, classes):
    """float64 analysis; returns (res, info) or raises when the margins are not clear."""
    m64 = copy.deepcopy(model).double()
    fc2s = spec["fc2"](m64)
    rows, shape = rows_logits_depend_on(m64, fc2s[-1], x.double())
    T, D = shape[1], shape[2]
    readout = spec["readout"](m64, T)
    if rows != readout:
        raise RuntimeError(f"{spec['name']}: the head code says rows {readout}, torch autograd {rows}")
    L = len(fc2s)
    extra = [[0] * L, [(7 * l + 3) % D for l in range(L)]]
    res = analyse(m64, fc2s, readout, x.double(), steps=mf.STEPS, extra_paths=extra)
    return res, dict(L=L, T=T, D=D, readout=readout)


def build_seeded(spec, x, classes, attempts=40):
    for attempt in range(attempts):
        seed = spec["seed_base"] + attempt
        torch.manual_seed(seed)
        model = spec["build"](classes).eval()
        randomize(model, seed)
        scale_heads(spec["heads"](model), model, x)
        res, info = analyse_model(spec, model, x, classes)
        mm = mf.min_margin(res)
        top1 = float(res["probs"].max())
        if mm >= mf.MARGIN and top1 >= 1.5 / classes:
            return model, seed, res, info, mm
        print(f"  {spec['name']}: seed {seed} rejected (margin {mm:.2e}, top-1 p {top1:.3f})", flush=True)
    raise RuntimeError(f"{spec['name']}: no seed with clear margins")


def write_reference(d, spec, x, seed, res, info, onnx_path, extra=None):
    L, T, D, readout = info["L"], info["T"], info["D"], info["readout"]
    doc = {
        "name": spec["name"], "family": spec["family"], "source": spec["source"],
        "library": spec["library"], "style": spec["family"], "opset": spec["opset"], "dtype": "float64",
        "scope": scope_of(readout, T), "readout": readout, "readoutRows": len(readout),
        "grid": list(GRID), "ffn": spec["ffn"], "layers": L, "neurons": D, "tokens": T,
        "numClasses": int(res["probs"].numel()), "fixedBatch": not spec["dynamic"],
        "dynamic": spec["dynamic"], "inputName": "pixel_values", "outputName": "logits", "seed": seed,
        "image": f"Fashion-MNIST test image {spec['image_index']}, bilinear {IMAGE}x{IMAGE}, 3 channels, "
                 "(x/255-0.5)/0.5",
        "onnxOps": mf.ops_of(onnx_path),
        **(extra or {}),
        "input": {"shape": list(x.shape), "data": mf.flat(x)},
        "logits": mf.flat(res["logits"]), "probs": mf.flat(res["probs"]),
        "steps": mf.STEPS,
        "cases": [mf.case_json(c, L) for c in res["cases"]],
    }
    text = json.dumps(round_floats(doc), separators=(",", ":"))
    with open(os.path.join(d, "reference.json"), "w") as f:
        f.write(text + "\n")
    return len(text)


def make_family_fixture(spec, classes=5):
    d = os.path.join(mf.OUT, spec["name"])
    os.makedirs(d, exist_ok=True)
    x = mf.fixture_input(spec["image_index"], IMAGE)
    model, seed, res, info, mm = build_seeded(spec, x, classes)
    path = os.path.join(d, "model.onnx")
    mf.export(model, x, path, spec["opset"], spec["dynamic"])
    mf.check_onnx(path)
    verified = mf.verify_export(model, path, x, spec["dynamic"])
    size = write_reference(d, spec, x, seed, res, info, path)
    c0 = res["cases"][0]
    print(f"{spec['name']}: seed {seed} L={info['L']} D={info['D']} T={info['T']} readout {info['readout']} "
          f"margin {mm:.2e} path {c0['reference']['path']} paper {c0['paper']['path']} json {size} B "
          f"onnx {os.path.getsize(path)} B; {verified}", flush=True)
    if os.path.getsize(path) > mf.MAX_BYTES:
        raise RuntimeError(f"{path} is over {mf.MAX_BYTES} bytes")
    return model, x, seed, res, info


# ============================================================================ main
def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--timm", default=os.environ.get("TIMM_SRC"), help="folder holding the timm package")
    ap.add_argument("--transformers", default=os.environ.get("TRANSFORMERS_SRC"),
                    help="folder holding the transformers package (v4.40)")
    ap.add_argument("names", nargs="*", help="only these fixtures")
    args = ap.parse_args()
    load_libraries(args.timm, args.transformers)
    torch.set_num_threads(1)
    specs = family_specs()
    unknown = set(args.names) - {s["name"] for s in specs}
    if unknown:
        sys.exit(f"unknown fixtures: {sorted(unknown)}")
    for spec in specs:
        if not args.names or spec["name"] in args.names:
            make_family_fixture(spec)


if __name__ == "__main__":
    main()

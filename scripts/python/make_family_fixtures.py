#!/usr/bin/python3
"""Fixtures for the ViT families users bring: tiny models built from the REAL timm and Hugging Face
transformers model code, exported with torch.onnx, with exact float64 results of neuron_path_ref.py.

    /usr/bin/python3 scripts/python/make_family_fixtures.py --timm DIR --transformers DIR [NAME ...]

DIR is a folder that holds the `timm` (resp. `transformers`) package; also read from the
environment variables TIMM_SRC and TRANSFORMERS_SRC. `--transformers` may be left out when only timm
fixtures are named. Neither library is installed or committed here:
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

Every model: 32x32 input, patch 8 (a 4x4 grid; the timm models whose head reads many rows take
32x24, a 4x3 grid, so non-square grids are covered and the files stay small), 2-3 blocks, width 32, FFN 64 (DINOv2's SwiGLU rounds
its own hidden size: 48), 5 classes, random weights from a seed per fixture (accepted only
when every argmax the fixture records wins by a clear margin, as make_fixtures.py does). The
readout rows are written down per family from the library's head code (and checked here against
the rows the torch logits depend on), never read from the ONNX graph, so they check the engine's
graph-based detection. Also written: fp16 and bf16 copies of one export (reference computed on the
float32 upcast of the rounded weights) and an int8-quantized model for an error test. The
remaining graph shapes of issue 18: vit_relpos (an MLP inside attention), CLIP zero-shot heads (L2
norms), CaiT and XCiT (class-attention blocks, left out of the path), and Swin and PiT exports the
engine must refuse (token rows that change between blocks).
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

IMAGE, WIDE, PATCH = (32, 32), (32, 24), 8
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


def keep_float64_softmax():
    """transformers' SigLIP attention calls softmax(..., dtype=torch.float32) (meant to upcast
    float16), which rounds a float64 model's attention to float32 and makes the reference inexact
    (finite differences disagree with autograd by 10-30%). A float64 input keeps float64 here; a
    float32 model (the export) is unchanged."""
    softmax = torch.nn.functional.softmax

    def float64_softmax(input, dim=None, _stacklevel=3, dtype=None):
        if dtype == torch.float32 and input.dtype == torch.float64:
            dtype = torch.float64
        return softmax(input, dim=dim, _stacklevel=_stacklevel, dtype=dtype)
    torch.nn.functional.softmax = float64_softmax


def load_libraries(timm_dir, hf_dir):
    """timm, and transformers when hf_dir is given (only the Hugging Face fixtures need it)."""
    for d, pkg in ((timm_dir, "timm"), (hf_dir, "transformers")):
        if (d or pkg == "timm") and not (d and os.path.isdir(os.path.join(d, pkg))):
            sys.exit(f"no {pkg} package under {d!r}: extract it as the docstring of {__file__} says")
    stubs = tempfile.mkdtemp(prefix="neuron-path-stubs-")
    write_stubs(stubs)
    sys.path[:0] = [timm_dir] + ([hf_dir, stubs] if hf_dir else [])
    import warnings
    warnings.filterwarnings("ignore")
    import timm
    print(f"timm {timm.__version__} from {timm_dir}", flush=True)
    if hf_dir:
        import transformers
        keep_float64_softmax()
        print(f"transformers {transformers.__version__} from {hf_dir}", flush=True)


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


TINY = dict(patch_size=PATCH, embed_dim=32, num_heads=2)


def timm_vit(classes, depth=2, img_size=IMAGE, **kw):
    from timm.models.vision_transformer import VisionTransformer
    return VisionTransformer(num_classes=classes, depth=depth, mlp_ratio=2.0, img_size=img_size, **TINY, **kw)


class Dinov2RegistersHead(nn.Module):
    """The head of Hugging Face's Dinov2WithRegistersForImageClassification (after v4.40) on timm's
    backbone with registers: Linear(cat(token 0, mean of the patch tokens after the registers))."""

    def __init__(self, backbone, classes):
        super().__init__()
        self.backbone = backbone
        self.classifier = nn.Linear(2 * backbone.embed_dim, classes)

    def forward(self, pixel_values):
        x = self.backbone.forward_features(pixel_values)
        patches = x[:, self.backbone.num_prefix_tokens:]
        return self.classifier(torch.cat([x[:, 0], patches.mean(dim=1)], dim=-1))


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


def timm_spec(name, build, source, family, opset, dynamic, ffn="plain", size=IMAGE):
    return dict(name=name, library="timm", build=build, source=source, family=family, opset=opset,
                dynamic=dynamic, ffn=ffn, fc2=timm_fc2, heads=timm_heads,
                readout=timm_readout, size=size)


def hf_config(cls_name, classes=None, **kw):
    import transformers
    base = dict(image_size=IMAGE[0], patch_size=PATCH, hidden_size=32, num_hidden_layers=2,
                num_attention_heads=2)
    if classes is not None:
        base["num_labels"] = classes
    base.update(kw)
    return getattr(transformers, cls_name)(**base)


def hf_model(model_cls, config_cls, classes, **kw):
    import transformers
    return Logits(getattr(transformers, model_cls)(hf_config(config_cls, classes, **kw)))


def zero_for_valid_padding(model):
    """Conv2d(padding='valid') as padding=0, the same convolution: torch 1.13 cannot export
    aten::_convolution_mode (SigLIP's patch embedding)."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d) and m.padding == "valid":
            m.padding = (0, 0)
    return model


def hf_spec(name, build, source, family, opset, dynamic, fc2, heads, readout, ffn="plain"):
    return dict(name=name, library="transformers", build=build, source=source, family=family,
                opset=opset, dynamic=dynamic, ffn=ffn, fc2=fc2, heads=heads, readout=readout, size=IMAGE)


def _timm_distilled(c):
    from timm.models.deit import VisionTransformerDistilled
    return VisionTransformerDistilled(num_classes=c, depth=2, mlp_ratio=2.0, img_size=IMAGE, **TINY)


def _timm_eva(c, img_size=IMAGE, **kw):
    from timm.models.eva import Eva
    return Eva(num_classes=c, depth=2, img_size=img_size, **TINY, **kw)


def _timm_beit(c):
    from timm.models.beit import Beit
    return Beit(num_classes=c, depth=2, mlp_ratio=2.0, use_rel_pos_bias=True, init_values=0.1, img_size=WIDE,
                **TINY)


def _timm_relpos(c, **kw):
    from timm.models.vision_transformer_relpos import VisionTransformerRelPos
    args = dict(rel_pos_type="mlp", rel_pos_dim=16, qkv_bias=False, fc_norm=True, img_size=IMAGE)
    args.update(kw)
    return VisionTransformerRelPos(num_classes=c, depth=2, mlp_ratio=2.0, **TINY, **args)


def _timm_cait(c):
    from timm.models.cait import Cait
    return Cait(num_classes=c, depth=2, depth_token_only=2, mlp_ratio=2.0, img_size=WIDE, **TINY)


def _timm_xcit(c):
    """XCiT with BatchNorm running statistics drawn (the seed is set before build), so the local patch
    interaction's BatchNormalization is not the identity."""
    from timm.models.xcit import Xcit
    m = Xcit(num_classes=c, depth=2, cls_attn_layers=2, mlp_ratio=2.0, eta=1.0, img_size=WIDE, **TINY)
    for bn in m.modules():
        if isinstance(bn, nn.BatchNorm2d):
            bn.running_mean.normal_(0, 0.1)
            bn.running_var.uniform_(0.5, 1.5)
    return m


EMBED = 24


class ZeroShot(nn.Module):
    """A CLIP zero-shot classifier in one graph: the image tower's embedding, L2-normalised, times
    fixed L2-normalised text embeddings (one per class; random here, standing in for encoded prompts)
    times exp(logit_scale), CLIP's initial log(1/0.07). `norm`: 'normalize' as open_clip writes it
    (F.normalize: ReduceL2, clamp_min eps, Expand, Div), 'norm' as Hugging Face's CLIPModel does
    (x / x.norm(p=2, dim=-1, keepdim=True))."""
    HEADS = {"normalize": "open_clip-style head: F.normalize(features) @ text.T * exp(logit_scale)",
             "norm": "HF CLIPModel-style head: features / features.norm(p=2, dim=-1, keepdim=True) @ text.T "
                     "* exp(logit_scale)"}

    def __init__(self, visual, classes, norm):
        super().__init__()
        self.visual = visual
        self.norm = norm
        self.register_buffer("text", nn.functional.normalize(torch.randn(classes, EMBED), dim=-1))
        self.register_buffer("logit_scale", torch.tensor(math.log(1 / 0.07)))

    def forward(self, pixel_values):
        f = self.visual(pixel_values)
        f = nn.functional.normalize(f, dim=-1) if self.norm == "normalize" else f / f.norm(p=2, dim=-1, keepdim=True)
        return self.logit_scale.exp() * f @ self.text.t()


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
    S.append(timm_spec("timm_avg" + suffix(14, False), lambda c: timm_vit(c, global_pool="avg", img_size=WIDE),
                       "timm VisionTransformer(global_pool='avg', img_size=(32, 24)) (fc_norm after the mean)",
                       "timm avg-pool", 14, False, size=WIDE))
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
    S.append(timm_spec("timm_eva" + suffix(14, True), lambda c: _timm_eva(c, mlp_ratio=2.0, img_size=WIDE),
                       "timm.models.eva.Eva(mlp_ratio=2, img_size=(32, 24)) (EVA-01: GELU, abs. position "
                       "embedding, avg pool)", "timm EVA (GELU)", 14, True, size=WIDE))
    S.append(timm_spec("timm_beit" + suffix(17, True), _timm_beit,
                       "timm.models.beit.Beit(use_rel_pos_bias=True, init_values=0.1, img_size=(32, 24)) "
                       "(avg pool)", "timm BEiT", 17, True, size=WIDE))
    # ---------------------------------------------------------------- timm, the newer families
    both(lambda o, d: timm_spec("timm_reg4_avg" + suffix(o, d),
                                lambda c: timm_vit(c, reg_tokens=4, global_pool="avg", img_size=WIDE),
                                "timm VisionTransformer(reg_tokens=4, global_pool='avg', img_size=(32, 24))",
                                "timm registers + avg pool", o, d, size=WIDE))
    both(lambda o, d: timm_spec("timm_gap" + suffix(o, d),
                                lambda c: timm_vit(c, class_token=False, global_pool="avg", img_size=WIDE),
                                "timm VisionTransformer(class_token=False, global_pool='avg', img_size=(32, 24))",
                                "timm no class token (gap)", o, d, size=WIDE), ((14, True), (17, False)))
    S.append(dict(timm_spec("timm_reg4_dinov2_head" + suffix(17, True),
                            lambda c: Dinov2RegistersHead(timm_vit(0, reg_tokens=4, img_size=WIDE), c),
                            "timm VisionTransformer(reg_tokens=4, num_classes=0, img_size=(32, 24)) + the "
                            "Dinov2WithRegisters head: Linear(cat(token 0, mean of tokens 5:))",
                            "DINOv2 with registers head (timm backbone)", 17, True, size=WIDE),
                  fc2=lambda m: timm_fc2(m.backbone), heads=lambda m: [m.classifier],
                  readout=lambda m, tokens: [0] + list(range(m.backbone.num_prefix_tokens, tokens))))
    both(lambda o, d: timm_spec("timm_deit_distilled" + suffix(o, d), _timm_distilled,
                                "timm.models.deit.VisionTransformerDistilled (head + head_dist averaged)",
                                "DeiT distilled (timm)", o, d))
    both(lambda o, d: timm_spec("timm_siglip_map" + suffix(o, d),
                                lambda c: timm_vit(c, class_token=False, global_pool="map", img_size=WIDE),
                                "timm VisionTransformer(class_token=False, global_pool='map', img_size=(32, 24)) "
                                "(SigLIP attention-pool head with its own MLP)",
                                "SigLIP attention-pool (MAP) head (timm)", o, d, size=WIDE),
         ((14, True), (17, False)))
    S.append(timm_spec("timm_eva02" + suffix(14, True),
                       lambda c: _timm_eva(c, mlp_ratio=2.0, swiglu_mlp=True, use_rot_pos_emb=True,
                                           ref_feat_shape=(4, 3), img_size=WIDE),
                       "timm Eva(swiglu_mlp=True, use_rot_pos_emb=True, mlp_ratio=2, img_size=(32, 24)) "
                       "(EVA-02 tiny layout: SwiGLU fc1_g/fc1_x, RoPE)", "EVA-02 (timm, SwiGLU + RoPE)", 14, True,
                       "gated", size=WIDE))
    S.append(timm_spec("timm_eva02_scale_mlp" + suffix(17, False),
                       lambda c: _timm_eva(c, mlp_ratio=2.0, swiglu_mlp=True, scale_mlp=True, qkv_fused=False,
                                           use_rot_pos_emb=True, ref_feat_shape=(4, 3), img_size=WIDE),
                       "timm Eva(swiglu_mlp=True, scale_mlp=True, qkv_fused=False, use_rot_pos_emb=True, "
                       "mlp_ratio=2, img_size=(32, 24)) (EVA-02 base layout: LayerNorm between the SwiGLU "
                       "product and fc2)", "EVA-02 (timm, SwiGLU + RoPE, scale_mlp)", 17, False, "gated",
                       size=WIDE))
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
                     lambda c: zero_for_valid_padding(PooledLinear(
                         __import__("transformers").SiglipVisionModel(
                             hf_config("SiglipVisionConfig", intermediate_size=64)), 32, c)),
                     "transformers SiglipVisionModel(SiglipVisionConfig) + nn.Linear on pooler_output "
                     "(SiglipMultiheadAttentionPoolingHead: probe attends to every token, own MLP); "
                     "patch Conv2d padding 'valid' set to 0 for torch 1.13's exporter",
                     "SigLIP attention-pool (MAP) head (HF)", 17, True,
                     hf_layers(("vision_model.encoder.layers", "mlp.fc2")), hf_cls_heads("classifier"),
                     all_rows))
    S.append(hf_spec("hf_siglip_classifier" + suffix(14, True),
                     lambda c: zero_for_valid_padding(hf_model(
                         "SiglipForImageClassification", "SiglipConfig", None, num_labels=c, vision_config=dict(
                             image_size=IMAGE[0], patch_size=PATCH, hidden_size=32, intermediate_size=64,
                             num_hidden_layers=2, num_attention_heads=2))),
                     "transformers SiglipForImageClassification(SiglipConfig) (v4.40: mean of tokens 1: "
                     "of a model without class token, so patch 0 is not read); patch Conv2d padding "
                     "'valid' set to 0 for torch 1.13's exporter",
                     "SigLIP classifier (HF, tokens 1:)", 14, True,
                     hf_layers(("vision_model.encoder.layers", "mlp.fc2")), hf_cls_heads("classifier"),
                     rows_from_1))
    # ---------------------------------------------------------------- issue 18: the remaining graph shapes
    S.append(timm_spec("timm_relpos" + suffix(14, True), lambda c: _timm_relpos(c, img_size=WIDE),
                       "timm.models.vision_transformer_relpos.VisionTransformerRelPos(rel_pos_type='mlp', "
                       "rel_pos_dim=16, qkv_bias=False, fc_norm=True) (vit_relpos_base_patch16_224 shrunk: a "
                       "ReLU MLP over log relative coordinates inside every attention, avg pool, no class token, "
                       "img_size=(32, 24))", "timm ViT relpos (relative-position MLP in attention)", 14, True, size=WIDE))
    S.append(timm_spec("timm_relpos_cls_swin" + suffix(17, False),
                       lambda c: _timm_relpos(c, rel_pos_type="mlp_swin", class_token=True, global_pool="token"),
                       "timm VisionTransformerRelPos(rel_pos_type='mlp_swin', class_token=True, "
                       "global_pool='token') (vit_relpos_medium_patch16_cls_224 layout: Swin-V2 style "
                       "sigmoid-gain MLP, padded for the class token)",
                       "timm ViT relpos (relative-position MLP in attention)", 17, False))
    for norm, opset, dyn in (("normalize", 14, True), ("norm", 17, False)):
        S.append(dict(timm_spec(f"timm_clip_zeroshot_{norm}" + suffix(opset, dyn),
                                lambda c, norm=norm: ZeroShot(timm_vit(EMBED, pre_norm=True, act_layer="quick_gelu"),
                                                              c, norm),
                                "timm VisionTransformer(pre_norm=True, act_layer='quick_gelu', num_classes=24) "
                                "(CLIP image tower, head = projection) + " + ZeroShot.HEADS[norm],
                                "CLIP zero-shot classifier (timm CLIP tower, L2-normalised)", opset, dyn),
                      fc2=lambda m: timm_fc2(m.visual), heads=lambda m: [],
                      readout=lambda m, tokens: timm_readout(m.visual, tokens)))
    S.append(dict(timm_spec("timm_cait" + suffix(17, True), _timm_cait,
                            "timm.models.cait.Cait(depth=2, depth_token_only=2) (LayerScale, talking-heads "
                            "attention over the patch tokens, then 2 class-attention blocks over the class token; "
                            "img_size=(32, 24))", "CaiT (timm; class-attention blocks left out)", 17, True, size=WIDE),
                  readout=all_rows, leftOut=2))
    S.append(dict(timm_spec("timm_xcit" + suffix(14, True), _timm_xcit,
                            "timm.models.xcit.Xcit(depth=2, cls_attn_layers=2) (cross-covariance attention "
                            "with L2-normalised q/k, local patch interaction: depthwise Conv + BatchNorm, "
                            "then 2 class-attention blocks; img_size=(32, 24))",
                            "XCiT (timm; class-attention blocks left out)", 14, True, size=WIDE),
                  readout=all_rows, leftOut=2))
    # ---------------------------------------------------------------- the same shapes exported by torch 2.x
    # (TorchScript exporter, opset 18: reduction axes as inputs, timm's fused SDPA attention); made in a
    # Debian trixie chroot whose python3-torch is 2.6, see test/fixtures/README.md.
    for name, build, source, family, size in (
            ("timm_relpos", lambda c: _timm_relpos(c, img_size=WIDE), "timm VisionTransformerRelPos(rel_pos_type='mlp', "
             "rel_pos_dim=16, qkv_bias=False, fc_norm=True, img_size=(32, 24))",
             "timm ViT relpos (relative-position MLP in attention)", WIDE),
            ("timm_xcit", _timm_xcit, "timm.models.xcit.Xcit(depth=2, cls_attn_layers=2, img_size=(32, 24))",
             "XCiT (timm; class-attention blocks left out)", WIDE)):
        S.append(dict(timm_spec(name + "_torch2" + suffix(18, True), build, source + "; exported by torch 2.6",
                                family, 18, True, size=size), torch2=True,
                      **({"readout": all_rows, "leftOut": 2} if "xcit" in name else {})))
    S.append(dict(timm_spec("timm_clip_zeroshot_normalize_torch2" + suffix(18, False),
                            lambda c: ZeroShot(timm_vit(EMBED, pre_norm=True, act_layer="quick_gelu"), c, "normalize"),
                            "timm VisionTransformer(pre_norm=True, act_layer='quick_gelu', num_classes=24) (CLIP image "
                            "tower) + " + ZeroShot.HEADS["normalize"] + "; exported by torch 2.6",
                            "CLIP zero-shot classifier (timm CLIP tower, L2-normalised)", 18, False),
                  torch2=True, fc2=lambda m: timm_fc2(m.visual), heads=lambda m: [],
                  readout=lambda m, tokens: timm_readout(m.visual, tokens)))
    for i, s in enumerate(S):
        s["image_index"] = 20 + i
        s["seed_base"] = 5000 + 101 * i
    return S


def refused_specs():
    """Models the method does not define: their token rows change between blocks. Exported only,
    with the error the engine must give."""
    from timm.models.pit import PoolingVisionTransformer
    from timm.models.swin_transformer import SwinTransformer
    return [
        dict(name="timm_swin_op14", family="Swin (timm, hierarchical)", opset=14,
             source="timm.models.swin_transformer.SwinTransformer(patch_size=4, window_size=4, embed_dim=8, "
                    "depths=(2, 2)) (patch merging between the stages: 64 then 16 token rows)",
             build=lambda c: SwinTransformer(img_size=32, patch_size=4, window_size=4, embed_dim=8, depths=(2, 2),
                                             num_heads=(1, 2), mlp_ratio=2.0, num_classes=c)),
        dict(name="timm_pit_op14", family="PiT (timm, pooling)", opset=14,
             source="timm.models.pit.PoolingVisionTransformer(base_dims=[16, 16], depth=[2, 2], heads=[2, 2]) "
                    "(a strided depthwise Conv pools the tokens between the stages: 50 then 17 token rows)",
             build=lambda c: PoolingVisionTransformer(img_size=32, patch_size=8, stride=4, base_dims=[16, 16],
                                                      depth=[2, 2], heads=[2, 2], mlp_ratio=2.0, num_classes=c)),
    ]


def make_refused_fixture(spec, seed=7000, classes=5):
    d = os.path.join(mf.OUT, spec["name"])
    os.makedirs(d, exist_ok=True)
    x = mf.fixture_input(20, IMAGE)
    torch.manual_seed(seed)
    model = spec["build"](classes).eval()
    randomize(model, seed)
    path = os.path.join(d, "model.onnx")
    mf.export(model, x, path, spec["opset"], True)
    mf.check_onnx(path)
    verified = mf.verify_export(model, path, x, True)
    with open(os.path.join(d, "reference.json"), "w") as f:
        json.dump({"name": spec["name"], "family": spec["family"], "source": spec["source"],
                   "expectError": "method-undefined", "onnxOps": mf.ops_of(path)}, f)
        f.write("\n")
    print(f"{spec['name']}: onnx {os.path.getsize(path)} B; {verified}", flush=True)


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


def grid_of(size):
    return [size[0] // PATCH, size[1] // PATCH]


def scope_of(readout, tokens, grid):
    patches = list(range(tokens - grid[0] * grid[1], tokens))
    if readout == [0]:
        return "cls"
    if readout == patches:
        return "patches"
    if readout == list(range(tokens)):
        return "all"
    return "tokens"


def round_floats(v):
    """9 significant digits (5e-10 relative, and exact for float32 values such as the input): far
    below float32 noise, files 40% smaller."""
    if isinstance(v, float):
        return float(f"{v:.9g}")
    if isinstance(v, list):
        return [round_floats(a) for a in v]
    if isinstance(v, dict):
        return {k: round_floats(a) for k, a in v.items()}
    return v


# ============================================================================ one fixture
def analyse_model(spec, model, x):
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
        if spec.get("round") is not None:
            round_weights(model, spec["round"])
        res, info = analyse_model(spec, model, x)
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
        "scope": scope_of(readout, T, grid_of(spec["size"])), "readout": readout, "readoutRows": len(readout),
        "grid": grid_of(spec["size"]), "ffn": spec["ffn"], "layers": L, "neurons": D, "tokens": T,
        "numClasses": int(res["probs"].numel()), "fixedBatch": not spec["dynamic"],
        "dynamic": spec["dynamic"], "inputName": "pixel_values", "outputName": "logits", "seed": seed,
        "image": f"Fashion-MNIST test image {spec['image_index']}, bilinear {spec['size'][0]}x{spec['size'][1]} "
                 "(height x width), 3 channels, "
                 "(x/255-0.5)/0.5",
        "onnxOps": mf.ops_of(onnx_path),
        **({"leftOut": spec["leftOut"]} if "leftOut" in spec else {}),
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
    x = mf.fixture_input(spec["image_index"], spec["size"])
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


# ============================================================================ precision variants
PRECISION_BASE = "timm_vit_op17"


def round_weights(model, dtype):
    """Round every float parameter and buffer to dtype and back: float32 values that a float16 /
    bfloat16 model stores exactly."""
    with torch.no_grad():
        for t in list(model.parameters()) + list(model.buffers()):
            if t.is_floating_point():
                t.copy_(t.to(dtype).to(t.dtype))


def float16_graph(path_in, path_out):
    """The whole graph in float16 (weights, constants, casts, inputs, outputs), as converters write it."""
    import onnx
    from onnx import AttributeProto, TensorProto, numpy_helper
    m = onnx.load(path_in)
    g = m.graph
    F, H = TensorProto.FLOAT, TensorProto.FLOAT16

    def half(t):
        return numpy_helper.from_array(numpy_helper.to_array(t).astype(np.float16), t.name)
    for i, init in enumerate(g.initializer):
        if init.data_type == F:
            g.initializer[i].CopyFrom(half(init))
    for node in g.node:
        for a in node.attribute:
            if a.type == AttributeProto.TENSOR and a.t.data_type == F:
                a.t.CopyFrom(half(a.t))
            if node.op_type == "Cast" and a.name == "to" and a.i == F:
                a.i = H
    for vi in list(g.input) + list(g.output) + list(g.value_info):
        if vi.type.tensor_type.elem_type == F:
            vi.type.tensor_type.elem_type = H
    onnx.checker.check_model(m)
    onnx.save(m, path_out)


def bfloat16_weights(path_in, path_out):
    """Weights stored as bfloat16, each followed by a Cast to float32 (onnxruntime's CPU provider
    has no bfloat16 kernels for the compute ops, so this is how a bf16 checkpoint runs there)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    m = onnx.load(path_in)
    g = m.graph
    casts, keep = [], []
    for init in g.initializer:
        arr = numpy_helper.to_array(init)
        if init.data_type != TensorProto.FLOAT or arr.size < 2:
            keep.append(init)
            continue
        bits = (arr.astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
        if not np.array_equal(bits.astype(np.uint32) << 16, arr.astype(np.float32).view(np.uint32)):
            raise RuntimeError(f"{init.name} is not bfloat16-exact; round the weights first")
        keep.append(helper.make_tensor(init.name + "_bf16", TensorProto.BFLOAT16, arr.shape,
                                       bits.tobytes(), raw=True))
        casts.append(helper.make_node("Cast", [init.name + "_bf16"], [init.name], to=TensorProto.FLOAT,
                                      name=init.name + "_to_float"))
    del g.initializer[:]
    g.initializer.extend(keep)
    nodes = casts + list(g.node)
    del g.node[:]
    g.node.extend(nodes)
    onnx.checker.check_model(m)
    onnx.save(m, path_out)


def int8_qdq(path_in, path_out):
    """Static int8 quantization in QDQ form: every MatMul/Gemm weight as int8 + DequantizeLinear,
    every MatMul/Gemm activation input through QuantizeLinear -> DequantizeLinear."""
    import onnx
    from onnx import helper, numpy_helper
    m = onnx.load(path_in)
    g = m.graph
    inits = {i.name: i for i in g.initializer}
    new_nodes, new_inits = [], []
    for node in g.node:
        if node.op_type in ("MatMul", "Gemm"):
            for k, name in enumerate(list(node.input[:2])):
                if name in inits:
                    w = numpy_helper.to_array(inits[name]).astype(np.float32)
                    scale = max(float(np.abs(w).max()) / 127.0, 1e-8)
                    q = np.clip(np.round(w / scale), -127, 127).astype(np.int8)
                    new_inits += [numpy_helper.from_array(q, name + "_int8"),
                                  numpy_helper.from_array(np.array(scale, np.float32), name + "_scale"),
                                  numpy_helper.from_array(np.array(0, np.int8), name + "_zp")]
                    new_nodes.append(helper.make_node("DequantizeLinear", [name + "_int8", name + "_scale",
                                                                           name + "_zp"], [name + "_dq"]))
                else:
                    tag = f"{node.name or node.output[0]}_in{k}"
                    new_inits += [numpy_helper.from_array(np.array(0.05, np.float32), tag + "_scale"),
                                  numpy_helper.from_array(np.array(0, np.int8), tag + "_zp")]
                    new_nodes += [helper.make_node("QuantizeLinear", [name, tag + "_scale", tag + "_zp"],
                                                   [tag + "_q"]),
                                  helper.make_node("DequantizeLinear", [tag + "_q", tag + "_scale", tag + "_zp"],
                                                   [tag + "_dq"])]
                    name = tag
                node.input[k] = name + "_dq"
        new_nodes.append(node)
    used = {i for n in new_nodes for i in n.input}
    keep = [i for i in g.initializer if i.name in used] + new_inits
    del g.node[:]
    g.node.extend(new_nodes)
    del g.initializer[:]
    g.initializer.extend(keep)
    onnx.checker.check_model(m)
    onnx.save(m, path_out)


def ort_logits(path, x, dtype="float32"):
    """Logits of an ONNX model through onnxruntime-node, input and output float32 or float16."""
    data = mf.flat(x)
    if dtype == "float16":   # onnxruntime-node takes and gives float16 as its bits (Uint16Array)
        data = x.numpy().astype(np.float16).view(np.uint16).reshape(-1).tolist()
    res = mf.ort_run([{"key": "y", "model": path, "shape": list(x.shape), "data": data, "dtype": dtype}])
    if res is None:
        raise RuntimeError("node and node_modules/onnxruntime-node are needed to check the precision variants")
    y = np.array(res["y"], dtype=np.uint16).view(np.float16) if dtype == "float16" else np.array(res["y"])
    return torch.tensor(y.astype(np.float64))


def precision_specs(specs):
    """The float16 and bfloat16 variants of PRECISION_BASE: weights rounded (spec 'round')."""
    base = next(s for s in specs if s["name"] == PRECISION_BASE)
    return [dict(base, name=f"precision_{label}", seed_base=base["seed_base"] + 50, round=dtype, label=label,
                 source=base["source"] + f"; weights rounded to {label}", family=base["family"] + f", {label}")
            for dtype, label in ((torch.float16, "float16"), (torch.bfloat16, "bfloat16"))]


def make_precision_fixtures(specs):
    base = next(s for s in specs if s["name"] == PRECISION_BASE)
    for spec in precision_specs(specs):
        label = spec["label"]
        convert, io = (float16_graph, "float16") if label == "float16" else (bfloat16_weights, "float32")
        d = os.path.join(mf.OUT, spec["name"])
        os.makedirs(d, exist_ok=True)
        x = mf.fixture_input(spec["image_index"], spec["size"])
        model, seed, res, info, mm = build_seeded(spec, x, 5)
        f32 = os.path.join(d, "float32.tmp.onnx")
        mf.export(model, x, f32, spec["opset"], spec["dynamic"])
        path = os.path.join(d, "model.onnx")
        convert(f32, path)
        os.remove(f32)
        got = ort_logits(path, x, io)
        err = float((got - res["logits"]).abs().max())
        how = ("the whole graph in float16 (initializers, constants, Cast targets, input and output)"
               if label == "float16" else "bfloat16 initializers, each Cast to float32 before use")
        size = write_reference(d, spec, x, seed, res, info, path, extra={
            "precision": label, "storage": how, "inputType": io,
            "note": f"reference computed in float64 on the {label}-rounded weights (their exact float32 "
                    f"upcast); onnxruntime-node runs this file with max |logit - reference| {err:.1e}"})
        print(f"{spec['name']}: seed {seed} margin {mm:.2e} path {res['cases'][0]['reference']['path']}; "
              f"onnxruntime-node runs it, max |logit diff| {err:.1e}; json {size} B onnx {os.path.getsize(path)} B",
              flush=True)
    d = os.path.join(mf.OUT, "quantized_int8")
    os.makedirs(d, exist_ok=True)
    src = os.path.join(mf.OUT, PRECISION_BASE, "model.onnx")
    path = os.path.join(d, "model.onnx")
    int8_qdq(src, path)
    x = mf.fixture_input(base["image_index"], base["size"])
    ref = json.load(open(os.path.join(mf.OUT, PRECISION_BASE, "reference.json")))["logits"]
    err = float((ort_logits(path, x) - torch.tensor(ref, dtype=torch.float64)).abs().max())
    with open(os.path.join(d, "reference.json"), "w") as f:
        json.dump({"name": "quantized_int8", "expectError": "quantized",
                   "source": f"{PRECISION_BASE}/model.onnx with int8 QDQ (QuantizeLinear/DequantizeLinear)"}, f)
        f.write("\n")
    print(f"quantized_int8: QDQ of {PRECISION_BASE}; onnxruntime-node runs it, max |logit - float| {err:.2f}; "
          f"onnx {os.path.getsize(path)} B", flush=True)


# ============================================================================ main
def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--timm", default=os.environ.get("TIMM_SRC"), help="folder holding the timm package")
    ap.add_argument("--transformers", default=os.environ.get("TRANSFORMERS_SRC"),
                    help="folder holding the transformers package (v4.40)")
    ap.add_argument("names", nargs="*", help="only these fixtures ('precision': the float16, bfloat16 "
                    "and int8 variants, after " + PRECISION_BASE + ")")
    args = ap.parse_args()
    load_libraries(args.timm, args.transformers)
    torch.set_num_threads(1)
    specs, refused = family_specs(), refused_specs()
    unknown = set(args.names) - {s["name"] for s in specs + refused} - {"precision"}
    if unknown:
        sys.exit(f"unknown fixtures: {sorted(unknown)}")
    # Each fixture is made by the torch it names: torch 1.13 (Debian bookworm) or torch 2.x (trixie).
    torch2 = int(torch.__version__.split(".")[0]) >= 2
    wrong = [s["name"] for s in specs if s["name"] in args.names and s.get("torch2", False) != torch2]
    if wrong:
        sys.exit(f"{wrong} are made with torch {'1.13' if torch2 else '2.x'}, this is torch {torch.__version__}")
    chosen = [s for s in specs if (not args.names or s["name"] in args.names) and s.get("torch2", False) == torch2]
    if not args.transformers and any(s["library"] == "transformers" for s in chosen):
        sys.exit("the Hugging Face fixtures need --transformers (or name only timm fixtures)")
    for spec in chosen:
        make_family_fixture(spec)
    if torch2:
        return
    for spec in refused:
        if not args.names or spec["name"] in args.names:
            make_refused_fixture(spec)
    if not args.names or "precision" in args.names:
        make_precision_fixtures(specs)


if __name__ == "__main__":
    main()

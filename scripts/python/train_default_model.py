#!/usr/bin/python3
"""Train the bundled default model of Neuron Path: a small ViT on Fashion-MNIST.

Architecture (Hugging Face ViT layout, so that the ONNX export looks like an HF ViT export):
  input [B, 3, 28, 28] (the grey image repeated to 3 channels, normalised with mean/std 0.5),
  patch 4 -> 49 patches + CLS = 50 tokens, width 64, 6 pre-norm blocks, 4 attention heads
  (separate query/key/value Linear), exact-erf GELU FFN of width 256, final LayerNorm,
  linear head on the CLS token (token 0), learned position embeddings.

Training: AdamW, linear warm-up then cosine schedule, random crop (padding 2) + horizontal flip,
label smoothing 0.1, seeded (torch.manual_seed + a seeded generator for the data order and the
augmentation), at most 2 CPU threads.  Checkpoints go to /tmp/neuron-path-train/ (never the repo);
a crashed run resumes from the last one with --resume.

Outputs (relative to the repository root):
  media/model/model.onnx               opset 14, input 'pixel_values', output 'logits', dynamic batch
  media/model/config.json              HF-style config + measured test accuracy
  media/model/preprocessor_config.json HF ViTImageProcessor config
  media/model/README.md                how it was trained
  media/samples/*.png + labels.json    first two test images of each class (file order)

Usage:
  /usr/bin/python3 scripts/python/train_default_model.py                 # train + export (~30 min)
  /usr/bin/python3 scripts/python/train_default_model.py --export-only   # re-export the last checkpoint
  /usr/bin/python3 scripts/python/train_default_model.py --export-test-folder DIR [--per-class N]
      # write N test images per class into DIR/<class-slug>/*.png (ImageFolder layout), nothing else
"""
import argparse
import gzip
import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA_DIR = "/usr/share/datasets/fashion-mnist"
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CKPT_DIR = "/tmp/neuron-path-train"

CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
CLASS_SLUGS = ["tshirt-top", "trouser", "pullover", "dress", "coat",
               "sandal", "shirt", "sneaker", "bag", "ankle-boot"]

MEAN = 0.5
STD = 0.5
IMAGE = 28
PATCH = 4
WIDTH = 64
LAYERS = 6
HEADS = 4
FFN = 256
SEED = 1234


# ----------------------------------------------------------------------------- data
def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack(">I", data[:4])[0]
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_split(split):
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(os.path.join(DATA_DIR, f"{prefix}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(DATA_DIR, f"{prefix}-labels-idx1-ubyte.gz"))
    return images, labels.astype(np.int64)


def to_input(images_u8):
    """uint8 [N,28,28] -> normalised float32 [N,3,28,28] (grey repeated to 3 channels)."""
    x = torch.from_numpy(np.array(images_u8, copy=True)).float().div_(255.0)
    x = (x - MEAN) / STD
    return x.unsqueeze(1).expand(-1, 3, -1, -1).contiguous()


def augment(x01, gen):
    """Random crop with zero padding 2 + random horizontal flip, on [N,28,28] in [0,1]."""
    n = x01.shape[0]
    padded = F.pad(x01, (2, 2, 2, 2))  # zeros = black background
    dy = torch.randint(0, 5, (n,), generator=gen)
    dx = torch.randint(0, 5, (n,), generator=gen)
    ar = torch.arange(IMAGE)
    rows = (dy[:, None] + ar[None, :])[:, :, None].expand(n, IMAGE, IMAGE)
    cols = (dx[:, None] + ar[None, :])[:, None, :].expand(n, IMAGE, IMAGE)
    idx = torch.arange(n)[:, None, None].expand(n, IMAGE, IMAGE)
    out = padded[idx, rows, cols]
    flip = torch.rand(n, generator=gen) < 0.5
    out[flip] = out[flip].flip(-1)
    return out


# ----------------------------------------------------------------------------- model
class SelfAttention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.head_dim = dim // heads
        self.query = nn.Linear(dim, dim)
        self.key = nn.Linear(dim, dim)
        self.value = nn.Linear(dim, dim)
        self.out = nn.Linear(dim, dim)

    def split(self, x):
        b, t, _ = x.shape
        return x.view(b, t, self.heads, self.head_dim).permute(0, 2, 1, 3)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.split(self.query(x)), self.split(self.key(x)), self.split(self.value(x))
        att = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_dim)
        att = att.softmax(dim=-1)
        ctx = torch.matmul(att, v).permute(0, 2, 1, 3).reshape(b, t, d)
        return self.out(ctx)


class Block(nn.Module):
    def __init__(self, dim, heads, ffn):
        super().__init__()
        self.layernorm_before = nn.LayerNorm(dim, eps=1e-12)
        self.attention = SelfAttention(dim, heads)
        self.layernorm_after = nn.LayerNorm(dim, eps=1e-12)
        self.intermediate = nn.Linear(dim, ffn)
        self.act = nn.GELU()  # exact erf
        self.output = nn.Linear(ffn, dim)

    def forward(self, x):
        x = x + self.attention(self.layernorm_before(x))
        x = x + self.output(self.act(self.intermediate(self.layernorm_after(x))))
        return x


class ViT(nn.Module):
    def __init__(self, image=IMAGE, patch=PATCH, dim=WIDTH, layers=LAYERS, heads=HEADS,
                 ffn=FFN, classes=10, channels=3):
        super().__init__()
        n = (image // patch) ** 2
        self.patch_embed = nn.Conv2d(channels, dim, patch, patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, n + 1, dim))
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        self.blocks = nn.ModuleList([Block(dim, heads, ffn) for _ in range(layers)])
        self.layernorm = nn.LayerNorm(dim, eps=1e-12)
        self.classifier = nn.Linear(dim, classes)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)

    def forward(self, pixel_values):
        x = self.patch_embed(pixel_values).flatten(2).transpose(1, 2)
        cls = self.cls_token.expand(x.shape[0], -1, -1)
        x = torch.cat([cls, x], dim=1) + self.pos_embed
        for blk in self.blocks:
            x = blk(x)
        x = self.layernorm(x)
        return self.classifier(x[:, 0])


# ----------------------------------------------------------------------------- train / eval
@torch.no_grad()
def evaluate(model, images, labels, bs=1000):
    model.eval()
    correct = 0
    for i in range(0, len(images), bs):
        logits = model(to_input(images[i:i + bs]))
        correct += (logits.argmax(-1).numpy() == labels[i:i + bs]).sum()
    return correct / len(images)


def train(args):
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    torch.set_num_threads(args.threads)
    os.makedirs(CKPT_DIR, exist_ok=True)
    tr_x, tr_y = load_split("train")
    te_x, te_y = load_split("test")
    tr_x01 = torch.from_numpy(tr_x.copy()).float().div_(255.0)
    tr_yt = torch.from_numpy(tr_y)

    model = ViT()
    nparams = sum(p.numel() for p in model.parameters())
    print(f"params: {nparams}", flush=True)
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "embed" not in n and "token" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "embed" not in n and "token" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.wd},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.999))
    steps_per_epoch = len(tr_x) // args.bs
    total = steps_per_epoch * args.epochs
    warmup = int(steps_per_epoch * args.warmup_epochs)

    def lr_at(step):
        if step < warmup:
            return args.lr * (step + 1) / warmup
        prog = (step - warmup) / max(1, total - warmup)
        return args.min_lr + (args.lr - args.min_lr) * 0.5 * (1 + math.cos(math.pi * prog))

    start_epoch = 0
    history = []
    ckpt_path = os.path.join(CKPT_DIR, "last.pt")
    if args.resume and os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        start_epoch = ck["epoch"] + 1
        history = ck["history"]
        print(f"resumed from epoch {start_epoch}", flush=True)

    t0 = time.time()
    for epoch in range(start_epoch, args.epochs):
        model.train()
        gen = torch.Generator().manual_seed(SEED * 1000 + epoch)  # deterministic order per epoch
        perm = torch.randperm(len(tr_x), generator=gen)
        te0 = time.time()
        loss_sum = 0.0
        for s in range(steps_per_epoch):
            step = epoch * steps_per_epoch + s
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            idx = perm[s * args.bs:(s + 1) * args.bs]
            xb = augment(tr_x01[idx], gen)
            xb = ((xb - MEAN) / STD).unsqueeze(1).expand(-1, 3, -1, -1)
            yb = tr_yt[idx]
            loss = F.cross_entropy(model(xb), yb, label_smoothing=args.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            loss_sum += loss.item()
            if args.max_steps and s + 1 >= args.max_steps:
                dt = time.time() - te0
                print(f"timing: {s + 1} steps in {dt:.1f}s -> {dt / (s + 1) * steps_per_epoch:.0f}s/epoch", flush=True)
                return None
            if s % 100 == 0:
                print(f"  epoch {epoch} step {s}/{steps_per_epoch} loss {loss.item():.4f} "
                      f"lr {lr_at(step):.2e} {time.time() - te0:.0f}s", flush=True)
        acc = evaluate(model, te_x, te_y)
        history.append({"epoch": epoch, "loss": loss_sum / steps_per_epoch, "test_accuracy": float(acc),
                        "epoch_seconds": time.time() - te0})
        print(f"epoch {epoch}: train loss {loss_sum / steps_per_epoch:.4f} test accuracy {acc:.4f} "
              f"({time.time() - te0:.0f}s, total {time.time() - t0:.0f}s)", flush=True)
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "epoch": epoch,
                    "history": history, "args": vars(args)}, ckpt_path)
    acc = evaluate(model, te_x, te_y)
    print(f"final test accuracy {acc:.4f}", flush=True)
    return model, float(acc), history


# ----------------------------------------------------------------------------- outputs
def write_png(path, img_u8):
    from PIL import Image
    Image.fromarray(np.asarray(img_u8, dtype=np.uint8), mode="L").save(path)


def export_test_folder(out_dir, per_class):
    te_x, te_y = load_split("test")
    for c, slug in enumerate(CLASS_SLUGS):
        d = os.path.join(out_dir, slug)
        os.makedirs(d, exist_ok=True)
        idxs = np.nonzero(te_y == c)[0][:per_class]
        for i in idxs:
            write_png(os.path.join(d, f"test-{i:05d}.png"), te_x[i])
    print(f"wrote {per_class} images per class to {out_dir}")


def write_samples():
    te_x, te_y = load_split("test")
    d = os.path.join(ROOT, "media", "samples")
    os.makedirs(d, exist_ok=True)
    labels = {}
    for c, slug in enumerate(CLASS_SLUGS):
        idxs = np.nonzero(te_y == c)[0][:2]  # first two in file order, no cherry-picking
        for k, i in enumerate(idxs):
            name = f"{slug}-{k + 1}.png"
            write_png(os.path.join(d, name), te_x[i])
            labels[name] = c
    with open(os.path.join(d, "labels.json"), "w") as f:
        json.dump(labels, f, indent=2)
        f.write("\n")


def export(model, acc, history, args):
    import onnx
    out_dir = os.path.join(ROOT, "media", "model")
    os.makedirs(out_dir, exist_ok=True)
    model.eval()
    dummy = to_input(load_split("test")[0][:1])
    path = os.path.join(out_dir, "model.onnx")
    torch.onnx.export(model, (dummy,), path, opset_version=14, input_names=["pixel_values"],
                      output_names=["logits"], dynamic_axes={"pixel_values": {0: "batch"}, "logits": {0: "batch"}},
                      do_constant_folding=True)
    m = onnx.load(path)
    onnx.checker.check_model(m)
    ops = sorted({n.op_type for n in m.graph.node})
    print(f"exported {path} ({os.path.getsize(path)} bytes), ops: {ops}")
    # onnx 1.12 has no onnx.reference (added in 1.13): the export is re-run through the project's
    # onnxruntime-node instead (when node_modules is installed), on 64 test images at batch 64.
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from make_fixtures import ort_run
    te_x, te_y = load_split("test")
    xb = to_input(te_x[:64])
    res = ort_run([{"key": "b", "model": path, "shape": list(xb.shape),
                    "data": [float(v) for v in xb.reshape(-1).tolist()]}])
    if res is None:
        print("export check skipped (no node / onnxruntime-node)")
    else:
        with torch.no_grad():
            ref = model(xb)
        got = torch.tensor(res["b"]).reshape(ref.shape)
        err = float((got - ref).abs().max())
        same = bool((got.argmax(-1) == ref.argmax(-1)).all())
        print(f"onnxruntime-node vs torch: max |logit diff| {err:.2e}, same predictions: {same}")
        if err > 1e-3 or not same:
            raise RuntimeError("exported model disagrees with torch")
    config = {
        "model_type": "vit",
        "architectures": ["ViTForImageClassification"],
        "image_size": IMAGE, "patch_size": PATCH, "num_channels": 3,
        "hidden_size": WIDTH, "num_hidden_layers": LAYERS, "num_attention_heads": HEADS,
        "intermediate_size": FFN, "hidden_act": "gelu", "layer_norm_eps": 1e-12,
        "id2label": {str(i): n for i, n in enumerate(CLASS_NAMES)},
        "label2id": {n: i for i, n in enumerate(CLASS_NAMES)},
        "test_accuracy": round(acc, 4),
    }
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    pre = {"do_resize": True, "size": {"height": IMAGE, "width": IMAGE}, "resample": 2,
           "do_rescale": True, "rescale_factor": 0.00392156862745098, "do_normalize": True,
           "image_mean": [MEAN] * 3, "image_std": [STD] * 3,
           "image_processor_type": "ViTImageProcessor"}
    with open(os.path.join(out_dir, "preprocessor_config.json"), "w") as f:
        json.dump(pre, f, indent=2)
        f.write("\n")
    train_secs = sum(h.get("epoch_seconds", 0) for h in history)
    lines = [
        "# Default model: ViT on Fashion-MNIST",
        "",
        "A small Vision Transformer trained from scratch on Fashion-MNIST by",
        "`scripts/python/train_default_model.py`; bundled so the extension works without a download.",
        "",
        f"- Test accuracy (10,000 Fashion-MNIST test images): **{acc * 100:.2f}%**",
        f"- Architecture: input 3x{IMAGE}x{IMAGE} (grey image repeated to 3 channels), patch {PATCH} "
        f"({(IMAGE // PATCH) ** 2} patches + CLS = {(IMAGE // PATCH) ** 2 + 1} tokens), width {WIDTH}, "
        f"{LAYERS} pre-norm blocks, {HEADS} heads, exact-erf GELU FFN of width {FFN}, final LayerNorm, "
        "linear head on the CLS token, learned position embeddings (Hugging Face ViT layout).",
        f"- Preprocessing: resize to {IMAGE}x{IMAGE}, scale to [0,1], normalise with mean {MEAN} std {STD} "
        "per channel (`preprocessor_config.json`). Colour images are fed as RGB as usual.",
        f"- Training: {args.epochs} epochs, batch {args.bs}, AdamW (lr {args.lr}, weight decay {args.wd}), "
        f"{args.warmup_epochs} warm-up epoch(s) then cosine to {args.min_lr}, label smoothing "
        f"{args.label_smoothing}, random crop (padding 2) + horizontal flip, seed {SEED}, "
        f"{args.threads} CPU threads, {train_secs / 60:.0f} minutes of wall time on a 2-core machine shared "
        f"with other jobs (fastest epoch {min((h.get('epoch_seconds', 0) for h in history), default=0):.0f} s, "
        "so about 30 minutes when the machine is idle).",
        "- Export: `torch.onnx.export` (torch 1.13), opset 14, input `pixel_values` [batch,3,28,28], "
        "output `logits` [batch,10], dynamic batch axis. LayerNorm is exported decomposed "
        "(ReduceMean/Sub/Pow/Sqrt/Div), GELU as Erf, the CLS token read with Gather.",
        "",
        "Per-epoch test accuracy:",
        "",
        "| epoch | train loss | test accuracy |",
        "| --- | --- | --- |",
    ]
    for h in history:
        lines.append(f"| {h['epoch'] + 1} | {h['loss']:.4f} | {h['test_accuracy'] * 100:.2f}% |")
    lines += [
        "",
        "Reproduce (from the repository root, Debian's python3 with torch 1.13 and onnx):",
        "",
        "```",
        "/usr/bin/python3 scripts/python/train_default_model.py "
        f"--epochs {args.epochs} --threads {args.threads}",
        "```",
        "",
        "Debian's torch links the generic `libblas.so.3`; with the reference BLAS (netlib) an epoch",
        "takes about 20 minutes on 2 cores, with OpenBLAS (`apt-get install libopenblas0-openmp`, which",
        "switches the alternative) about 1.5 minutes. Results are deterministic for a given BLAS and",
        "thread count; another BLAS may change the last bits and so the exact accuracy slightly.",
        "Checkpoints go to /tmp/neuron-path-train/; `--resume` continues a stopped run, `--export-only`",
        "re-exports the last checkpoint.",
        "",
        "It also writes `media/samples/` (the first two test images of each class, in file order, with",
        "`labels.json`). A folder of test images in ImageFolder layout for batch experiments:",
        "`/usr/bin/python3 scripts/python/train_default_model.py --export-test-folder DIR --per-class N`.",
        "",
    ]
    with open(os.path.join(out_dir, "README.md"), "w") as f:
        f.write("\n".join(lines))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=25)
    ap.add_argument("--bs", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--min_lr", type=float, default=1e-5)
    ap.add_argument("--wd", type=float, default=0.05)
    ap.add_argument("--warmup_epochs", type=float, default=2.0)
    ap.add_argument("--label_smoothing", type=float, default=0.1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max_steps", type=int, default=0, help="time this many steps and stop (measurement)")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--export-only", action="store_true")
    ap.add_argument("--export-test-folder", default=None)
    ap.add_argument("--per-class", type=int, default=10)
    args = ap.parse_args()

    if args.export_test_folder:
        export_test_folder(args.export_test_folder, args.per_class)
        return
    if args.export_only:
        torch.set_num_threads(args.threads)
        ck = torch.load(os.path.join(CKPT_DIR, "last.pt"))
        for k in ("epochs", "bs", "lr", "min_lr", "wd", "warmup_epochs", "label_smoothing", "threads"):
            setattr(args, k, ck["args"][k])
        model = ViT()
        model.load_state_dict(ck["model"])
        te_x, te_y = load_split("test")
        acc = float(evaluate(model, te_x, te_y))
        print(f"test accuracy {acc:.4f}")
        export(model, acc, ck["history"], args)
        write_samples()
        return
    res = train(args)
    if res is None:
        return
    model, acc, history = res
    export(model, acc, history, args)
    write_samples()


if __name__ == "__main__":
    main()

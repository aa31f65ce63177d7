#!/usr/bin/python3
"""PyTorch reference implementation of the method in docs/method.md (Neuron Path).

Generic over a torch ViT module: the caller gives each block's FFN output projection (fc2, in
block order) and the readout, the sorted token rows of the last block's output that the head reads:
  'cls'        -> [0]
  'patches'    -> tokens 1.. (one class token, no registers)
  [r0, r1..]   -> any sorted rows: [0, 1] for DeiT distilled, 1+R.. for R registers and a pooled
                  head, every row for a head without class token or an attention-pool (MAP) head.

The neuron is an input unit of fc2 (docs/method.md): a forward pre-hook on fc2 reads and rewrites
fc2's input, which is the activation output of a plain FFN and the product act(gate) * up of a
gated one (SwiGLU), so both kinds are handled alike. Everything is done with these hooks:
  * clean pass              -> w_l, the readout rows of every block's fc2 input, [K, D]
  * replacement             -> the hook overwrites the readout rows with a given tensor that
                               requires grad; batched over the m integration steps; the gradients
                               of F = softmax(logits)[t] (summed over the batch) w.r.t. all
                               replacement tensors come from ONE torch.autograd.grad call
  * locator                 -> formulas 'reference' and 'paper'; per-token scores summed over the
                               readout tokens; alpha_k = k/m, k = 0..m-1 (left Riemann sum)
  * JAS of a path, baselines activation / per-layer IG,
    manipulation remove (x0) / enhance (x2) live forward.
  * influence pattern baseline and top-K paths (K neurons per layer, the sums over all K earlier
    neurons) in methods of their own, built on the primitives above.
  * intervention: any neurons (l, j) multiplied by factors, at the readout rows or at every token
    row, everything else live (one forward pass).
Vectors over the readout are [K, D] with the rows in readout order.

The model is used in the dtype it has; make_fixtures.py casts a copy to float64 so the fixtures
are exact (``NeuronPathRef(model.double(), ...)``).
"""
from __future__ import annotations

import contextlib
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn

FORMULAS = ("reference", "paper")


class NeuronPathRef:
    def __init__(self, model: nn.Module, fc2_modules: Sequence[nn.Module], readout="cls",
                 steps: int = 20):
        if isinstance(readout, str):
            if readout not in ("cls", "patches"):
                raise ValueError(f"readout must be 'cls', 'patches' or a list of rows, got {readout!r}")
        elif list(readout) != sorted(set(int(r) for r in readout)) or not readout:
            raise ValueError(f"readout rows must be a non-empty sorted list without repeats: {readout!r}")
        self.model = model.eval()
        self.fc2s = list(fc2_modules)
        self.readout = readout if isinstance(readout, str) else [int(r) for r in readout]
        self.steps = steps
        self.L = len(self.fc2s)
        # hook state
        self._mode: Optional[str] = None
        self._captured: Dict[int, torch.Tensor] = {}
        self._replace: Dict[int, torch.Tensor] = {}
        self._scale: Dict[int, tuple] = {}
        self._mult: Dict[int, tuple] = {}
        self._handles = [m.register_forward_pre_hook(self._make_hook(i)) for i, m in enumerate(self.fc2s)]

    # ------------------------------------------------------------------ hooks
    def close(self):
        for h in self._handles:
            h.remove()
        self._handles = []

    def rows(self, tokens: int) -> List[int]:
        """The readout rows for a sequence of `tokens` rows."""
        if self.readout == "cls":
            return [0]
        if self.readout == "patches":
            return list(range(1, tokens))
        if self.readout[-1] >= tokens:
            raise RuntimeError(f"readout row {self.readout[-1]} is past the {tokens} tokens")
        return self.readout

    def _make_hook(self, layer: int):
        def hook(_module, inputs):
            u = inputs[0]
            if u.dim() != 3:
                raise RuntimeError(f"fc2 input of block {layer} is not [B, T, D]: {tuple(u.shape)}")
            rows = torch.tensor(self.rows(u.shape[1]), device=u.device)
            if self._mode == "capture":
                self._captured[layer] = u[:, rows].detach().clone()
                return None
            if self._mode == "replace" and layer in self._replace:
                v = u.clone()
                v[:, rows] = self._replace[layer].to(u.dtype)  # [B, K, D]; frozen rows
                return (v,) + tuple(inputs[1:])
            if self._mode == "scale" and layer in self._scale:
                neuron, factor = self._scale[layer]
                mult = torch.ones(u.shape[-1], dtype=u.dtype, device=u.device)
                mult[neuron] = factor
                v = u.clone()
                v[:, rows] = u[:, rows] * mult
                return (v,) + tuple(inputs[1:])
            if self._mode == "intervene" and layer in self._mult:
                mult, all_rows = self._mult[layer]
                v = u.clone()
                if all_rows:
                    v = u * mult.to(u.dtype)
                else:
                    v[:, rows] = u[:, rows] * mult.to(u.dtype)
                return (v,) + tuple(inputs[1:])
            return None
        return hook

    @contextlib.contextmanager
    def _state(self, mode, replace=None, scale=None, mult=None):
        self._mode, self._captured = mode, {}
        self._replace = replace or {}
        self._scale = scale or {}
        self._mult = mult or {}
        try:
            yield
        finally:
            self._mode, self._replace, self._scale, self._mult = None, {}, {}, {}

    # ------------------------------------------------------------------ primitives
    @torch.no_grad()
    def clean(self, x: torch.Tensor):
        """Clean forward: (logits [C], probs [C], w = list of [K, D] per block)."""
        with self._state("capture"):
            logits = self.model(x)
            w = [self._captured[i][0] for i in range(self.L)]
        logits = logits[0]
        return logits, torch.softmax(logits, -1), w

    def alphas(self, dtype):
        m = self.steps
        return torch.arange(m, dtype=dtype) / m  # alpha_k = k/m, k = 0..m-1

    def grads_through_replacement(self, x: torch.Tensor, target: int,
                                  replacements: Dict[int, torch.Tensor]) -> Dict[int, torch.Tensor]:
        """Replaced forward of a batch (one row per replacement step), ONE backward.

        replacements: block -> [B, K, D] tensor. Returns block -> G = sum over the batch of
        dF/d(replacement), shape [K, D].
        """
        layers = sorted(replacements)
        leaves = {i: replacements[i].detach().clone().requires_grad_(True) for i in layers}
        b = next(iter(leaves.values())).shape[0]
        xb = x.expand(b, *x.shape[1:])
        with torch.enable_grad(), self._state("replace", replace=leaves):
            logits = self.model(xb)
            f = torch.softmax(logits, -1)[:, target].sum()
            grads = torch.autograd.grad(f, [leaves[i] for i in layers])
        return {i: g.sum(0) for i, g in zip(layers, grads)}

    def path_replacements(self, w: List[torch.Tensor], path: Sequence[int], upto: int):
        """Replacement tensors of blocks i < upto: w_i with only p_i scaled by alpha_k."""
        a = self.alphas(w[0].dtype)
        reps = {}
        for i in range(upto):
            r = w[i].unsqueeze(0).repeat(self.steps, 1, 1)  # [m, K, D]
            r[:, :, path[i]] = w[i][:, path[i]].unsqueeze(0) * a[:, None]
            reps[i] = r
        return reps

    # ------------------------------------------------------------------ locator
    def layer_step(self, x, target, w, path: Sequence[int], layer: int):
        """One step of the layer-progressive locator. Returns (G list [K,D] for i<=layer, scores)."""
        m = self.steps
        a = self.alphas(w[0].dtype)
        reps = self.path_replacements(w, path, layer)
        reps[layer] = a[:, None, None] * w[layer].unsqueeze(0)
        g = self.grads_through_replacement(x, target, reps)
        G = [g[i] for i in range(layer + 1)]
        s = [w[i] / m for i in range(layer + 1)]
        scores = {}
        # per-token quantities [K] of the already chosen path neurons
        prev_g = sum((G[i][:, path[i]] for i in range(layer)), torch.zeros_like(G[layer][:, 0]))
        prev_s = sum((s[i][:, path[i]] for i in range(layer)), torch.zeros_like(s[layer][:, 0]))
        prev_gs = sum((G[i][:, path[i]] * s[i][:, path[i]] for i in range(layer)),
                      torch.zeros_like(s[layer][:, 0]))
        scores["reference"] = ((G[layer] + prev_g[:, None]) * (s[layer] + prev_s[:, None])).sum(0)
        scores["paper"] = (G[layer] * s[layer] + prev_gs[:, None]).sum(0)
        return G, scores

    def locate(self, x, target, w, formula="reference"):
        if formula not in FORMULAS:
            raise ValueError(formula)
        path: List[int] = []
        layer_scores, layer_grads = [], []
        for l in range(self.L):
            G, scores = self.layer_step(x, target, w, path, l)
            sc = scores[formula]
            path.append(int(torch.argmax(sc)))
            layer_scores.append(sc)
            layer_grads.append(G)
        jas = self.jas(x, target, w, path)
        return {"path": path, "jas": jas[formula], "jasBoth": jas, "layerScores": layer_scores,
                "layerGrads": layer_grads}

    # ------------------------------------------------------------------ JAS of a whole path
    def jas(self, x, target, w, path: Sequence[int]):
        reps = self.path_replacements(w, path, self.L)
        g = self.grads_through_replacement(x, target, reps)
        G = [g[i] for i in range(self.L)]
        s = [w[i] / self.steps for i in range(self.L)]
        gp = sum(G[l][:, path[l]] for l in range(self.L))  # [K]
        sp = sum(s[l][:, path[l]] for l in range(self.L))
        ref = float((gp * sp).sum())
        pap = float(sum((G[l][:, path[l]] * s[l][:, path[l]]).sum() for l in range(self.L)))
        return {"reference": ref, "paper": pap, "grads": G}

    # ------------------------------------------------------------------ baselines
    def activation_baseline(self, w):
        return [int(torch.argmax(w[l].sum(0))) for l in range(self.L)]

    def ig_baseline(self, x, target, w):
        a = self.alphas(w[0].dtype)
        path, scores = [], []
        for l in range(self.L):
            g = self.grads_through_replacement(x, target, {l: a[:, None, None] * w[l].unsqueeze(0)})
            ig = (g[l] * w[l] / self.steps).sum(0)
            scores.append(ig)
            path.append(int(torch.argmax(ig)))
        return path, scores

    # ------------------------------------------------------------------ manipulation
    @torch.no_grad()
    def manipulate(self, x, target, path: Sequence[int], factor: float) -> float:
        scale = {l: (path[l], factor) for l in range(self.L)}
        with self._state("scale", scale=scale):
            logits = self.model(x)
        return float(torch.softmax(logits[0], -1)[target])

    # ------------------------------------------------------------------ influence pattern
    def influence_pattern(self, x, target):
        """IP_l[j] = mean over k and readout tokens of dF(x_k)/du_l[j], x_k = (k/m) x, all blocks live.

        Computed independently of the engine's one-backward graph: the m scaled images are captured
        live, then for each block l alone its readout rows are "replaced" by their own live values
        (the forward is unchanged, every other block stays live), so dF/d(replacement) is the live
        gradient; one backward per block. Returns (path, scores [L][D]).
        """
        m = self.steps
        xs = self.alphas(x.dtype)[:, None, None, None] * x  # [m, C, H, W]
        with torch.no_grad(), self._state("capture"):
            self.model(xs)
            live = {i: self._captured[i] for i in range(self.L)}  # [m, K, D]
        scores = []
        for l in range(self.L):
            g = self.grads_through_replacement(xs, target, {l: live[l]})[l]  # summed over the m rows
            scores.append(g.mean(0) / m)
        return [int(torch.argmax(sc)) for sc in scores], scores

    # ------------------------------------------------------------------ top-K paths
    def set_replacements(self, w, sets, upto):
        """Replacement tensors of blocks i < upto: w_i with its K neurons scaled by alpha_k."""
        a = self.alphas(w[0].dtype)
        reps = {}
        for i in range(upto):
            r = w[i].unsqueeze(0).repeat(self.steps, 1, 1)  # [m, K, D]
            idx = list(sets[i])
            r[:, :, idx] = w[i][:, idx].unsqueeze(0) * a[:, None, None]
            reps[i] = r
        return reps

    def locate_topk(self, x, target, w, k, formula="reference"):
        """K neurons per layer, layer by layer; earlier layers contribute the sums over all K of
        their neurons (the published topk code adds only the last of them)."""
        m = self.steps
        a = self.alphas(w[0].dtype)
        sets, layer_scores = [], []
        for l in range(self.L):
            reps = self.set_replacements(w, sets, l)
            reps[l] = a[:, None, None] * w[l].unsqueeze(0)
            g = self.grads_through_replacement(x, target, reps)
            s = [w[i] / m for i in range(l + 1)]
            zero = torch.zeros_like(s[l][:, 0])
            prev_g = sum((g[i][:, sets[i]].sum(-1) for i in range(l)), zero)
            prev_s = sum((s[i][:, sets[i]].sum(-1) for i in range(l)), zero)
            prev_gs = sum(((g[i][:, sets[i]] * s[i][:, sets[i]]).sum(-1) for i in range(l)), zero)
            if formula == "reference":
                sc = ((g[l] + prev_g[:, None]) * (s[l] + prev_s[:, None])).sum(0)
            else:
                sc = (g[l] * s[l] + prev_gs[:, None]).sum(0)
            sets.append([int(j) for j in torch.argsort(sc, descending=True)[:k]])
            layer_scores.append(sc)
        return {"sets": sets, "layerScores": layer_scores, "jasBoth": self.jas_sets(x, target, w, sets)}

    def jas_sets(self, x, target, w, sets):
        """JAS of a K-per-layer set: every block replaced, its K neurons scaled."""
        g = self.grads_through_replacement(x, target, self.set_replacements(w, sets, self.L))
        s = [w[i] / self.steps for i in range(self.L)]
        gp = sum(g[l][:, sets[l]].sum(-1) for l in range(self.L))  # [K tokens]
        sp = sum(s[l][:, sets[l]].sum(-1) for l in range(self.L))
        ref = float((gp * sp).sum())
        pap = float(sum((g[l][:, sets[l]] * s[l][:, sets[l]]).sum() for l in range(self.L)))
        return {"reference": ref, "paper": pap}

    # ------------------------------------------------------------------ intervention
    @torch.no_grad()
    def intervene(self, x, settings, rows="readout"):
        """Probabilities [C] after a live forward with each (layer, neuron, factor) of `settings`
        multiplying fc2's input unit `neuron` of block `layer`: at the readout rows, or at every token
        row (rows='all'). A neuron may be named once."""
        if rows not in ("readout", "all"):
            raise ValueError(f"rows must be 'readout' or 'all', got {rows!r}")
        if len({(l, j) for l, j, _ in settings}) != len(settings):
            raise ValueError(f"a neuron is named twice in {settings}")
        mult = {}
        for layer, neuron, factor in settings:
            fc2 = self.fc2s[layer]
            if layer not in mult:
                mult[layer] = torch.ones(fc2.in_features, dtype=fc2.weight.dtype)
            mult[layer][neuron] = factor
        with self._state("intervene", mult={l: (m, rows == "all") for l, m in mult.items()}):
            logits = self.model(x)
        return torch.softmax(logits[0], -1)

    def remove(self, x, target, path):
        return self.manipulate(x, target, path, 0.0)

    def enhance(self, x, target, path):
        return self.manipulate(x, target, path, 2.0)


def analyse(model: nn.Module, fc2_modules, readout, x: torch.Tensor, targets: Optional[List[int]] = None,
            steps: int = 20, extra_paths: Optional[List[List[int]]] = None):
    """Everything the fixtures need, for each target (default: top-1 and top-2)."""
    ref = NeuronPathRef(model, fc2_modules, readout, steps)
    try:
        logits, probs, w = ref.clean(x)
        if targets is None:
            order = torch.argsort(probs, descending=True)
            targets = [int(order[0]), int(order[1])]
        cases = []
        for t in targets:
            case = {"target": t, "targetProbability": float(probs[t]), "clean": w}
            for formula in FORMULAS:
                case[formula] = ref.locate(x, t, w, formula)
            case["jasOf"] = []
            for p in extra_paths or []:
                j = ref.jas(x, t, w, p)
                case["jasOf"].append({"path": list(p), **j})
            act_path = ref.activation_baseline(w)
            ig_path, ig_scores = ref.ig_baseline(x, t, w)
            base = {}
            for name, p in (("activation", act_path), ("integratedGradients", ig_path)):
                j = ref.jas(x, t, w, p)
                base[name] = {"path": p, "jasReference": j["reference"], "jasPaper": j["paper"],
                              "remove": ref.remove(x, t, p), "enhance": ref.enhance(x, t, p)}
            base["integratedGradients"]["scores"] = ig_scores
            case["baselines"] = base
            rp = case["reference"]["path"]
            case["manipulation"] = {"remove": ref.remove(x, t, rp), "enhance": ref.enhance(x, t, rp)}
            cases.append(case)
        return {"logits": logits, "probs": probs, "cases": cases}
    finally:
        ref.close()

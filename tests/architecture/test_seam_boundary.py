"""The seam is the only room that knows a model family's internals: no module of iabench, its explainers, its
metrics or its benchmarks outside ``iabench/models/seam.py``, ``forward.py`` and ``families/`` names one (as an
attribute or in a string, e.g. a state-dict key)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SEAM = {ROOT / "iabench/models/seam.py", ROOT / "iabench/models/forward.py"}
FAMILIES = ROOT / "iabench/models/families"
# single attribute names, then dotted chains (checked on the attribute chain and inside strings)
TIMM = ("patch_embed", "blocks", "attn", "qkv", "norm1", "fused_attn", "attn_drop", "cls_token", "pos_embed")
HF = ("layernorm_before",)
TORCHVISION = ("self_attention", "conv_proj")
NAMES = set(TIMM + HF + TORCHVISION)
CHAINS = ("encoder.layer", "attention.attention", "encoder.layers")
COMMON = {"blocks", "attn"}


def _chain(node: ast.Attribute) -> str:
    parts = [node.attr]
    while isinstance(node.value, ast.Attribute):
        node = node.value
        parts.append(node.attr)
    return ".".join(reversed(parts))


def violations(source: str) -> list[str]:
    """Each place in ``source`` that names a family's internals."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute):
            chain = _chain(node)
            if node.attr in NAMES or any(f".{c}." in f".{chain}." for c in CHAINS):
                found.append(f"line {node.lineno}: .{chain}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and "\n" not in node.value:
            # state-dict keys ("blocks.0.attn.qkv.weight") and getattr names; a lone common word ("blocks" of a
            # statistical design) is not a reach
            words = node.value.replace("_weight", "").split(".")
            dotted = len(words) > 1 and NAMES & set(words)
            if dotted or node.value in NAMES - COMMON or any(c in node.value for c in CHAINS):
                found.append(f"line {node.lineno}: {node.value!r}")
    return found


def _files() -> list[Path]:
    files = [*ROOT.glob("iabench/**/*.py"), *ROOT.glob("baselines/*.py"), *ROOT.glob("metrics/*.py"),
             *ROOT.glob("benchmarks/*.py")]
    return [f for f in files if f not in SEAM and FAMILIES not in f.parents]


def test_no_module_outside_the_seam_names_a_familys_internals() -> None:
    problems = {str(f.relative_to(ROOT)): v for f in _files() if (v := violations(f.read_text()))}
    assert problems == {}


def test_the_check_would_see_each_kind_of_reach() -> None:
    assert violations("x = model.backbone.patch_embed.patch_size") == ["line 1: .backbone.patch_embed"]
    assert violations("block.attn.attn_drop") and violations("m.vit.encoder.layer[0]")
    assert violations("k = 'encoder.layers.encoder_layer_0.mlp.0.weight'") and violations("s['pos_embed']")
    assert violations("getattr(m, 'conv_proj')") and violations("m.self_attention.in_proj_weight")
    assert violations("a.attention.attention.query") and violations("x.layernorm_before")
    assert violations("attn = seam.layers[0]; inter_attn = out.inter_attn; d = {'blocks': 3}") == []  # not reaches

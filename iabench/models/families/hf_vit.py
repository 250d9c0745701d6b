"""The Hugging Face ``transformers`` family: ``ViTForImageClassification``, ``DeiTForImageClassification`` and
``DeiTForImageClassificationWithTeacher`` (two prefix tokens; its logits average the class and distillation
heads, as the seam's read-out does).

Both layouts are read: transformers 4.x (``vit.encoder.layer``, ``attention.attention.query/key/value``,
``attention.output.dense``, ``intermediate.dense``, ``output.dense``) and 5.x (``vit.layers``, ``attention.q_proj``
... ``o_proj``, ``mlp.fc1/fc2``). The attention's probabilities are recomputed by the seam's forward (HF's sdpa
path never materialises them), through a fresh identity module per block. Models are loaded with eager attention.
"""

from __future__ import annotations

import importlib.util
import json
from functools import partial
from pathlib import Path

import torch
from torch import nn

from ...config import ModelConfig
from ...errors import UserError
from ..seam import BlockParts, Seam, UnsupportedModel
from . import FAMILIES, Family, GivenModel, config_from_seam, model_name, supported

CLASSES = ("ViTForImageClassification", "DeiTForImageClassification", "DeiTForImageClassificationWithTeacher")
# the tested range (setup.cfg's `hf` extra says the same): 4.57 (the 4.x layout) and 5.25 (the 5.x one) are tested
VERSIONS = ">=4.57,<6"
# HF's activation name -> nn.GELU's approximation
ACTIVATIONS = {"gelu": "none", "gelu_pytorch_tanh": "tanh", "gelu_new": "tanh"}


def _activation(config: object) -> nn.Module:
    act = getattr(config, "hidden_act", None)
    if act not in ACTIVATIONS:  # HF's GELU modules compute these; anything else is refused rather than guessed
        raise UnsupportedModel(f"hidden_act '{act}' is not one of {', '.join(ACTIVATIONS)}")
    return nn.GELU(approximate=ACTIVATIONS[act])


def _block(layer: nn.Module, config: object) -> BlockParts:
    attention = layer.attention
    if hasattr(attention, "q_proj"):  # transformers 5.x
        to_qkv, to_out = (attention.q_proj, attention.k_proj, attention.v_proj), attention.o_proj
        fc1, fc2 = layer.mlp.fc1, layer.mlp.fc2
    else:  # transformers 4.x
        inner = attention.attention
        to_qkv, to_out = (inner.query, inner.key, inner.value), attention.output.dense
        fc1, fc2 = layer.intermediate.dense, layer.output.dense
    return BlockParts(pre_attention=layer.layernorm_before, to_qkv=to_qkv, to_out=to_out,
                      pre_mlp=layer.layernorm_after, fc1=fc1, act=_activation(config), fc2=fc2,
                      num_heads=config.num_attention_heads, probabilities=nn.Identity(),
                      own_attention=partial(_own_attention, attention))


def _own_attention(attention: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The attention's output: 4.57 returns a tensor, other versions a tuple (output, weights, ...). A function of
    the module (not a closure), so a seam deep-copies and pickles with its model."""
    out = attention(x)
    return out[0] if isinstance(out, tuple) else out


class HFSeam(Seam):
    family = "hf"
    library = "Hugging Face transformers"
    forward_gives_logits = False  # an ImageClassifierOutput

    @classmethod
    def accepts(cls, model: nn.Module) -> nn.Module | None:
        return model if type(model).__name__ in CLASSES and type(model).__module__.startswith("transformers.") \
            else None

    def __init__(self, model: nn.Module) -> None:
        super().__init__(model)
        config = model.config
        base = model.vit if hasattr(model, "vit") else model.deit
        embeddings = base.embeddings
        side, patch = _pair(config.image_size), _pair(config.patch_size)
        self.grid, self.patch_size = (side[0] // patch[0], side[1] // patch[1]), patch
        distilled = getattr(embeddings, "distillation_token", None)
        self.prefix = (embeddings.cls_token,) + (() if distilled is None else (distilled,))
        self.positions = embeddings.position_embeddings
        self.num_prefix_tokens = len(self.prefix)
        self.patch_proj = embeddings.patch_embeddings.projection
        layers = base.layers if hasattr(base, "layers") else base.encoder.layer
        self.layers = tuple(_block(layer, config) for layer in layers)
        self.final_norm = base.layernorm
        heads = ((0, model.cls_classifier), (1, model.distillation_classifier)) if hasattr(model, "cls_classifier") \
            else ((0, model.classifier),)
        if not all(isinstance(head, nn.Linear) for _, head in heads):
            raise UnsupportedModel(f"the {type(model).__name__} has no classifier head (num_labels is 0)")
        self.readout = heads

    def place_tokens(self, patches: torch.Tensor) -> torch.Tensor:
        prefix = [token.expand(patches.shape[0], -1, -1) for token in self.prefix]
        return torch.cat([*prefix, patches], dim=1) + self.positions

    def take_grey(self, grey: tuple[float, float], own: tuple[list[float], list[float]]) -> None:
        super().take_grey(grey, own)
        base = self.model.vit if hasattr(self.model, "vit") else self.model.deit
        base.embeddings.patch_embeddings.num_channels = self.model.config.num_channels = 1  # its forward checks it

    @staticmethod
    def logits_of(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
        return model(pixel_values=images).logits


def _pair(value: int | tuple[int, int] | list[int]) -> tuple[int, int]:
    return (int(value), int(value)) if isinstance(value, int) else (int(value[0]), int(value[1]))


def require_transformers() -> None:
    """One line saying what to install when transformers is missing."""
    if importlib.util.find_spec("transformers") is None:
        raise UserError(f"--model hf:DIR needs Hugging Face transformers: pip install 'iabench[hf]' "
                        f"(transformers{VERSIONS})")


def parse(model: str, checkpoint: str | Path) -> GivenModel:
    """``hf:DIR``: a ``save_pretrained`` folder, its own checkpoint (the path may contain ``:``)."""
    if not model.partition(":")[2]:
        raise UserError(f"--model '{model}' names no folder; give the folder save_pretrained wrote: --model hf:DIR")
    folder = Path(model.partition(":")[2]).expanduser()
    if checkpoint:
        raise UserError(f"--model hf:DIR takes no --checkpoint: the folder '{folder}' holds the weights")
    if not folder.is_dir():
        raise UserError(f"--model hf:'{folder}' is not a folder; give the folder save_pretrained wrote")
    return GivenModel("hf", "vit", f"hf:{folder.name}", folder, model_name("hf", folder.name))


def load(given: GivenModel) -> tuple[nn.Module, ModelConfig]:
    """The folder's model as a classifier returning logits, and its config."""
    seam = HFSeam(load_folder(given.path))
    if given.num_heads is not None and given.num_heads != seam.num_heads:
        raise UserError(f"'{given.path}' says {seam.num_heads} heads (config.json), model.num_heads says "
                        f"{given.num_heads}: leave model.num_heads out")
    return seam.classifier.eval(), config_from_seam(given.arch, seam)


def load_folder(folder: str | Path) -> nn.Module:
    """A ``save_pretrained`` folder's model, offline (no hub access), eager attention, eval mode."""
    require_transformers()
    folder = Path(folder).expanduser()
    config_file = folder / "config.json"
    if not config_file.is_file():
        raise UserError(f"'{folder}' has no config.json; give a folder written by save_pretrained")
    architectures = json.loads(config_file.read_text()).get("architectures") or ["?"]
    name = architectures[0]
    if name not in CLASSES:
        raise UnsupportedModel(f"'{folder}' holds a {name}, which iabench cannot explain: it serves {supported()}")
    import transformers
    from transformers.utils import logging as hf_logging

    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # its loading bar would interleave with ours
    try:
        model, info = getattr(transformers, name).from_pretrained(
            folder, local_files_only=True, attn_implementation="eager", output_loading_info=True)
    except (OSError, RuntimeError, ValueError) as err:  # no weights file, a truncated one, shapes that differ
        lines = [line.strip() for line in str(err).splitlines() if line.strip()]
        raise UserError(f"cannot load '{folder}': {(lines or ['?'])[-1][:160]}") from None
    finally:
        if bars:
            hf_logging.enable_progress_bar()
    problems = {k: info.get(k) for k in ("missing_keys", "unexpected_keys", "mismatched_keys") if info.get(k)}
    if problems:  # transformers would fill missing weights at random with a warning; a benchmark must not
        named = "; ".join(f"{k.replace('_', ' ')} {', '.join(map(str, list(v)[:4]))}" for k, v in problems.items())
        raise UserError(f"'{folder}' does not hold all the weights of its {name}: {named}; save it again with "
                        "save_pretrained")
    return model.eval()


def normalisation(given: GivenModel) -> tuple[list[float], list[float]] | None:
    """The image mean and std of the folder's preprocessor_config.json, when it has them."""
    path = given.path / "preprocessor_config.json"
    if not path.is_file():
        return None
    config = json.loads(path.read_text())
    mean, std = config.get("image_mean"), config.get("image_std")
    return (list(mean), list(std)) if mean and std else None


FAMILIES.register(Family(
    name="hf", rank=1, library="transformers", prefix="hf", form="hf:DIR (a save_pretrained folder)",
    serves="Hugging Face ViTForImageClassification or DeiTForImageClassification(WithTeacher)",
    refuses=f"other transformers classes, activations other than {', '.join(ACTIVATIONS)}, no classifier head",
    seam=HFSeam, parse=parse, load=load, normalisation=normalisation))

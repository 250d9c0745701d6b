"""What ``--model`` and ``--checkpoint`` name: the family, the model kind, the architecture and the weights.

- ``ARCH --checkpoint FILE``: a timm ViT/DeiT state dict; ``ia-vit:ARCH --checkpoint FILE``: an IA-ViT saved by iabench;
- ``hf:DIR``: a Hugging Face ``save_pretrained`` folder, its own checkpoint (a path may contain ``:``);
- ``torchvision[:HEADS] --checkpoint FILE``: a torchvision ``VisionTransformer`` state dict; the weights do not show
  the number of heads: HEADS (or a builder name, e.g. ``torchvision:vit_l_16``), else torchvision's for the width.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

from ..errors import UserError

# the heads of torchvision's builders (the weights do not show them)
TORCHVISION_HEADS = {"vit_b_16": 12, "vit_b_32": 12, "vit_l_16": 16, "vit_l_32": 16, "vit_h_14": 16}
FORMS = ("ARCH or ia-vit:ARCH with --checkpoint FILE (timm), hf:DIR (a save_pretrained folder), or torchvision[:HEADS] "
         "with --checkpoint FILE")


@dataclasses.dataclass(frozen=True)
class GivenModel:
    """The family ('timm', 'hf' or 'torchvision'), the model kind, the architecture and the weights' path."""

    kind: str
    arch: str
    path: Path
    family: str = "timm"
    num_heads: int | None = None  # torchvision only

    @classmethod
    def parse(cls, model: str, checkpoint: str | Path) -> GivenModel:
        if model.startswith("hf:"):
            folder = Path(model[3:]).expanduser()
            if checkpoint:
                raise UserError(f"--model hf:DIR takes no --checkpoint: the folder '{folder}' holds the weights")
            if not folder.is_dir():
                raise UserError(f"--model hf:'{folder}' is not a folder; give the folder save_pretrained wrote")
            return cls("vit", f"hf:{folder.name}", folder, "hf")
        if model == "torchvision" or model.startswith("torchvision:"):
            return cls("vit", "torchvision", _file(checkpoint, "torchvision"), "torchvision", _heads(model))
        kind, _, arch = model.rpartition(":") if ":" in model else ("vit", "", model)
        if kind not in ("vit", "ia-vit") or not arch:
            raise UserError(f"--model '{model}' is not one of: {FORMS}")
        return cls(kind, arch, _file(checkpoint, "timm or iabench"))

    @property
    def name(self) -> str:
        """The model's name in the tables."""
        if self.family == "hf":
            return f"hf-{self.path.name}"
        if self.family == "torchvision":
            return f"torchvision-{self.path.stem}"
        return f"ia-vit-{self.arch}" if self.kind == "ia-vit" else self.arch

    def key(self) -> str:
        """Names the weights (the explanation cache's key): the file's (folder's) name and a hash of its bytes."""
        digest = hashlib.sha256()
        files = sorted(p for p in self.path.iterdir() if p.suffix in (".json", ".safetensors", ".bin")) \
            if self.path.is_dir() else [self.path]
        for path in files:
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
        return f"{self.path.stem}-{digest.hexdigest()[:16]}"


def _file(checkpoint: str | Path, what: str) -> Path:
    if not checkpoint:
        raise UserError(f"--model needs --checkpoint FILE here (the weights of a {what} model); {FORMS}")
    path = Path(checkpoint).expanduser()
    if not path.is_file():
        raise UserError(f"--checkpoint '{path}' does not exist; give the file of a {what} checkpoint")
    return path


def _heads(model: str) -> int | None:
    spec = model.partition(":")[2]
    if not spec:
        return None
    if spec in TORCHVISION_HEADS:
        return TORCHVISION_HEADS[spec]
    if spec.isdigit() and int(spec) > 0:
        return int(spec)
    raise UserError(f"--model '{model}': after torchvision: give the number of heads or one of "
                    f"{', '.join(TORCHVISION_HEADS)}")

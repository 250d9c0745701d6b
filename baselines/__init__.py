"""Explainers: a name -> explainer registry (``iabench.baselines``), one module per method.

Contract (Captum-style): ``EXPLAINERS.create(name, model=model).attribute(images, target)`` takes a
batch of images (B, C, H, W) in the model's input space and target classes (B,), and returns a
saliency tensor (B, H, W), float32, finite, on the input's device. Higher means more important.
Patch-level maps (P = grid rows x columns) are upsampled to the image size by ``upsample_patch_map``
(bilinear, align_corners=False) for every method alike.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from iabench.registry import Registry

# the explainer families, in the order the docs' table and `iabench list` show them
FAMILIES = ("intrinsic", "attention", "relevance", "gradient", "perturbation", "control")
RESOLUTIONS = ("pixel", "patch")
# the random control of each resolution: a map is compared with noise at its own resolution
MATCHED_CONTROLS = {"pixel": "random", "patch": "random-patch"}


def matched_control(resolution: str) -> str:
    """The random control of ``resolution``: ``random`` for pixel maps, ``random-patch`` for patch maps."""
    return MATCHED_CONTROLS[resolution]


class Explainer:
    """Base class. Subclasses set the class attributes and implement ``_attribute``."""

    name: ClassVar[str] = ""
    display_name: ClassVar[str] = ""
    family: ClassVar[str] = ""  # one of FAMILIES
    reference: ClassVar[str] = ""
    # one line, no trailing period: what the method computes (the docs' table and `iabench list` print it)
    description: ClassVar[str] = ""
    # True when the maps hold meaningful negative values (evidence against the target), e.g. LRP or
    # integrated gradients; False when they are never negative (attention, clamped relevance, |gradient|)
    signed: ClassVar[bool] = False
    # passes through the model per explained image, e.g. "1 forward + 1 backward" or "`n_steps` (32) forwards
    # + backwards"; the docs' explainer table prints it, benchmarks/bench_explainers.py measures it
    cost: ClassVar[str] = ""
    # True when the map's sum is meant to equal the target logit (LRP) or its change from a baseline (integrated
    # gradients' completeness): the ``conservation`` metric scores only these
    decomposes_logit: ClassVar[bool] = False
    requires_ia_vit: ClassVar[bool] = False
    # the perturbation substrate this method's own reference input equals (e.g. "zeros" for integrated
    # gradients from a zero baseline): scored by deletion/insertion under that substrate, it is favoured
    # (Rong et al. 2022), and the report marks those cells
    baseline: ClassVar[str | None] = None
    needs_target: ClassVar[bool] = True  # False: the map ignores the target (no forward to predict one)
    option_names: ClassVar[tuple[str, ...]] = ()  # the options it reads; any other is refused (a typo must not pass)
    # the map's own resolution (RESOLUTIONS): "patch" = one value per patch of the model's grid (upsampled, or
    # constant within each patch), "pixel" = one value per pixel. Insertion/deletion at the pixel unit favour
    # pixel maps (removing scattered pixels corrupts every patch token at once), so each explainer is compared
    # with the control of its own resolution (``matched_control``)
    resolution: ClassVar[str] = "pixel"

    def __init__(self, model: nn.Module, **options: object) -> None:
        self.check_options(options)
        self.model = model
        self.options = options

    @classmethod
    def resolved(cls, options: dict[str, object]) -> type[Explainer]:
        """The class that explains with ``options``: itself, or (a control built on another explainer, e.g.
        ``shuffled``) a subclass carrying that explainer's needs (IA-ViT, target) and resolution."""
        return cls

    @classmethod
    def check_options(cls, options: dict[str, object]) -> None:
        """Refuse an option this explainer does not read, in one line naming those it does."""
        from iabench.errors import UserError, unknown  # here: keeps this module's imports light

        for key in sorted(set(options) - set(cls.option_names)):
            if not cls.option_names:
                raise UserError(f"explainer {cls.name} takes no options; got '{key}'")
            raise unknown(f"option of explainer {cls.name}", key, cls.option_names)

    def attribute(self, inputs: torch.Tensor, target: torch.Tensor | None = None) -> torch.Tensor:
        """Saliency (B, H, W), float32, on ``inputs.device``. ``target`` None = the predicted class."""
        saliency = self.native(inputs, target)
        if saliency.shape[-2:] != inputs.shape[-2:]:
            saliency = upsample_patch_map(saliency, inputs.shape[-2:])
        return saliency.detach().to(device=inputs.device, dtype=torch.float32)

    def native(self, inputs: torch.Tensor, target: torch.Tensor | None = None) -> torch.Tensor:
        """The map at the method's own resolution, before upsampling: (B, rows, cols) of the patch grid or
        (B, H, W), channels summed."""
        if inputs.ndim != 4:
            raise ValueError(f"expected images (B, C, H, W), got shape {tuple(inputs.shape)}")
        if target is None and not self.needs_target:
            target = torch.zeros(inputs.shape[0], dtype=torch.long, device=inputs.device)
        if target is None:  # the predicted class, in eval mode (dropout off) like the explanation itself
            from iabench.baselines._vit import eval_mode  # here: _vit is a submodule of this package

            with eval_mode(self.model), torch.no_grad():
                target = self.model(inputs).argmax(dim=1)
        target = torch.as_tensor(target, device=inputs.device).long().reshape(-1)
        if target.shape[0] != inputs.shape[0]:
            raise ValueError(f"{target.shape[0]} targets for {inputs.shape[0]} images")
        saliency = self._attribute(inputs, target)
        return saliency.sum(dim=1) if saliency.ndim == 4 else saliency  # (B, C, H, W) attributions: sum channels

    def _attribute(self, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


def upsample_patch_map(patch_map: torch.Tensor, size: tuple[int, int] | torch.Size) -> torch.Tensor:
    """(B, h, w) or (B, P) patch scores -> (B, H, W) by bilinear interpolation (align_corners=False)."""
    if patch_map.ndim == 2:
        side = int(round(patch_map.shape[1] ** 0.5))
        if side * side != patch_map.shape[1]:
            raise ValueError(f"cannot infer a square grid from {patch_map.shape[1]} patches; pass (B, h, w)")
        patch_map = patch_map.reshape(-1, side, side)
    out = F.interpolate(patch_map[:, None].float(), size=tuple(size), mode="bilinear", align_corners=False)
    return out[:, 0]


EXPLAINERS: Registry[Explainer] = Registry("explainer")


def create_explainer(name: str, model: nn.Module, **options: object) -> Explainer:
    return EXPLAINERS.create(name, model=model, **options)


def _import_all() -> None:
    """Import every module of this package so that its ``@EXPLAINERS.register`` runs."""
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


_import_all()

__all__ = ["EXPLAINERS", "FAMILIES", "MATCHED_CONTROLS", "RESOLUTIONS", "Explainer", "create_explainer",
           "matched_control", "upsample_patch_map"]

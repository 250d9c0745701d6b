"""The explainer contract: the base class every explainer subclasses, its registry, and the handle through which a
metric may ask an explainer for more (``iabench.contract.ExplainerHandle``).

Contract (Captum-style): ``EXPLAINERS.create(name, model=model, **options).attribute(images, target)`` takes a batch
of images (B, C, H, W) in the model's input space and target classes (B,), and returns a saliency tensor (B, H, W),
float32, finite, on the input's device. Higher means more important. Patch-level maps (P = grid rows x columns) are
upsampled to the image size by ``upsample_patch_map`` (bilinear, align_corners=False) for every method alike.
An explainer declares its ``name`` once, its ``needs``, its typed ``Options`` and its metadata as class attributes;
the registry checks them when the module is imported.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from iabench.baselines._feature_maps import not_on_feature_maps
from iabench.contract import Needs, NoOptions, Options
from iabench.contract.options import options_class_problems
from iabench.models import explainable, is_feature_map
from iabench.modes import eval_mode
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
    # the perturbation substrate this method's own reference input equals (e.g. "zeros" for integrated
    # gradients from a zero baseline): scored by deletion/insertion under that substrate, it is favoured
    # (Rong et al. 2022), and the report marks those cells
    baseline: ClassVar[str | None] = None
    # the map's own resolution (RESOLUTIONS): "patch" = one value per patch of the model's grid (upsampled, or
    # constant within each patch), "pixel" = one value per pixel. Insertion/deletion at the pixel unit favour
    # pixel maps (removing scattered pixels corrupts every patch token at once), so each explainer is compared
    # with the control of its own resolution (``matched_control``)
    resolution: ClassVar[str] = "pixel"
    needs: ClassVar[Needs] = Needs(target=True)  # target False: the map ignores it (no forward to predict one)
    Options: ClassVar[type[Options]] = NoOptions
    argument_option: ClassVar[str | None] = None  # `name:ARG` in a suite sets this option (shuffled:ia-vit)

    def __init__(self, model: nn.Module, **options: object) -> None:
        self.model = explainable(model)  # a transformers model as a module returning logits
        if not self.needs.applies_to("feature-map") and is_feature_map(self.model):  # a CNN or a Swin: no tokens
            raise not_on_feature_maps([self.name], f"a {type(model).__name__}", EXPLAINERS)
        self.options = self.parse_options(options)

    @classmethod
    def parse_options(cls, options: Mapping[str, object] | None) -> Options:
        """The typed options; an unknown option, a wrong type or a value out of range is one line."""
        return cls.Options.parse(options, f"explainer {cls.name}")

    @classmethod
    def resolved(cls, options: Mapping[str, object]) -> type[Explainer]:
        """The class that explains with ``options``: itself, or (a control built on another explainer, e.g.
        ``shuffled``) a subclass carrying that explainer's needs and resolution."""
        return cls

    def attribute(self, inputs: torch.Tensor, target: torch.Tensor | None = None,
                  masks: torch.Tensor | None = None) -> torch.Tensor:
        """Saliency (B, H, W), float32, on ``inputs.device``. ``target`` None = the predicted class; ``masks``
        (B, H, W), the ground truth, read only by an explainer that declares ``needs.masks`` (an oracle)."""
        if self.needs.masks:
            if masks is None:
                raise ValueError(f"{self.name} needs the ground-truth masks of the explained images (a dataset that "
                                 "declares masks, e.g. evidence-fashion-mnist)")
            saliency = self.from_masks(inputs, masks)
        else:
            saliency = self.native(inputs, target)
        if saliency.shape[-2:] != inputs.shape[-2:]:
            saliency = upsample_patch_map(saliency, inputs.shape[-2:])
        return saliency.detach().to(device=inputs.device, dtype=torch.float32)

    def native(self, inputs: torch.Tensor, target: torch.Tensor | None = None) -> torch.Tensor:
        """The map at the method's own resolution, before upsampling: (B, rows, cols) of the patch grid or
        (B, H, W), channels summed."""
        if inputs.ndim != 4:
            raise ValueError(f"expected images (B, C, H, W), got shape {tuple(inputs.shape)}")
        if target is None and not self.needs.target:
            target = torch.zeros(inputs.shape[0], dtype=torch.long, device=inputs.device)
        if target is None:  # the predicted class, in eval mode (dropout off) like the explanation itself
            with eval_mode(self.model), torch.no_grad():
                target = self.model(inputs).argmax(dim=1)
        target = torch.as_tensor(target, device=inputs.device).long().reshape(-1)
        if target.shape[0] != inputs.shape[0]:
            raise ValueError(f"{target.shape[0]} targets for {inputs.shape[0]} images")
        with eval_mode(self.model):  # dropout off in every module the method calls, the seam's forward included
            saliency = self._attribute(inputs, target)
        return saliency.sum(dim=1) if saliency.ndim == 4 else saliency  # (B, C, H, W) attributions: sum channels

    def _attribute(self, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def from_masks(self, inputs: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
        """The map of an explainer that reads the ground truth (``needs.masks``)."""
        raise NotImplementedError

    def relevance_budget(self, inputs: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor] | None:
        """Where the target logit's relevance went (AttnLRP: the softmaxes' share); None for other explainers."""
        return None

    def reference_logit(self, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor | None:
        """f(baseline) for the target classes, for explainers whose maps sum to f(x) - f(baseline); else None."""
        return None


@dataclass(frozen=True)
class BoundExplainer:
    """An explainer class with its options, as the ``ExplainerHandle`` a metric is given: maps of any model, and
    the numbers only some explainers have."""

    cls: type[Explainer]
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def baseline(self) -> str | None:
        return self.cls.baseline

    def explain(self, model: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return self.cls(model, **self.options).attribute(images, targets)

    def relevance_budget(self, model: nn.Module, images: torch.Tensor,
                         targets: torch.Tensor) -> dict[str, torch.Tensor] | None:
        return self.cls(model, **self.options).relevance_budget(images, targets)

    def reference_logit(self, model: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor | None:
        return self.cls(model, **self.options).reference_logit(images, targets)


def upsample_patch_map(patch_map: torch.Tensor, size: tuple[int, int] | torch.Size) -> torch.Tensor:
    """(B, h, w) or (B, P) patch scores -> (B, H, W) by bilinear interpolation (align_corners=False)."""
    if patch_map.ndim == 2:
        side = int(round(patch_map.shape[1] ** 0.5))
        if side * side != patch_map.shape[1]:
            raise ValueError(f"cannot infer a square grid from {patch_map.shape[1]} patches; pass (B, h, w)")
        patch_map = patch_map.reshape(-1, side, side)
    out = F.interpolate(patch_map[:, None].float(), size=tuple(size), mode="bilinear", align_corners=False)
    return out[:, 0]


def check_explainer(cls: type[Explainer]) -> None:
    """What the registry checks of an explainer class when its module is imported."""
    problems = []
    if cls.family not in FAMILIES:
        problems.append(f"family {cls.family!r} is not one of {', '.join(FAMILIES)}")
    if cls.resolution not in RESOLUTIONS:
        problems.append(f"resolution {cls.resolution!r} is not one of {', '.join(RESOLUTIONS)}")
    if not cls.description or cls.description.endswith(".") or not cls.reference or not cls.cost:
        problems.append("it needs a description (one line, no trailing period), a reference and a cost")
    if any((cls.needs.saliency, cls.needs.explain_fn, cls.needs.decomposition)):
        problems.append("an explainer's needs are ia_vit, vit, target and masks only")
    if cls.needs.masks and cls.from_masks is Explainer.from_masks:
        problems.append("an explainer that needs masks implements from_masks")
    problems += options_class_problems(cls.Options)
    if problems:
        raise TypeError(f"explainer {cls.name}: " + "; ".join(problems))


EXPLAINERS: Registry[Explainer] = Registry("explainer", check_explainer, package="iabench.baselines")


def create_explainer(name: str, model: nn.Module, **options: object) -> Explainer:
    """The explainer ``name`` with ``options``, of the class they resolve to (``shuffled`` with ``of="ia-vit"`` is
    the interpreter's shuffled control, of the interpreter's resolution), as the pipeline builds it."""
    return EXPLAINERS.get(name).resolved(options)(model, **options)

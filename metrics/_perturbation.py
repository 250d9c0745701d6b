"""What insertion, deletion, MoRF and LeRF share: their typed options (``CurveOptions``) and the mixin that turns
them into a protocol for the engine (``_curve_engine``): which units move, from what to what, how many per step."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

import numpy as np
import torch
from torch import nn

from iabench.contract import Context, Options, option
from iabench.errors import OptionError
from iabench.metrics._base import MetricResult
from iabench.metrics._checks import check_saliency, check_shapes
from iabench.metrics._curve_engine import (
    area,
    default_max_batch,
    perturbation_curves,
    step_counts,
    unit_ranks,
)
from iabench.models import patch_size_of
from iabench.ranges import AT_LEAST_0, AT_LEAST_1, POSITIVE
from iabench.substrates import SUBSTRATES, black_value, road_fill, substrate_for

__all__ = ["CurveOptions", "PatchCurveOptions", "PerturbationCurve", "area", "check_saliency", "check_shapes",
           "default_max_batch", "perturbation_curves", "step_counts", "unit_ranks"]


@dataclasses.dataclass(frozen=True)
class CurveOptions(Options):
    step: int | float | None = option(None, "units moved per step (default: one image row of pixels, W, the paper's; "
                                            "1 patch); a float in (0, 1) moves that share of the units")
    fraction: float | None = option(None, "share of all units moved per step", (0, 1, False, True))
    unit: Literal["pixel", "patch"] = option("pixel", "what moves: pixels, or whole patches of patch_size")
    patch_size: int | None = option(None, "side of a patch unit (default: the model's patch)", AT_LEAST_1)
    substrate: Literal[SUBSTRATES] = option("zeros", "what removed pixels become (see iabench.substrates)")
    mean_value: list[float] | None = option(None, "the 'mean' substrate's per-channel value (default zeros)")
    black_value: list[float] | None = option(None, "the 'black' substrate's value (a run sets it from the data)")
    blur_kernel: int = option(11, "the 'blur' substrate's kernel (RISE's)", AT_LEAST_1)
    blur_sigma: float = option(5.0, "the 'blur' substrate's sigma (RISE's)", POSITIVE)
    seed: int = option(0, "seed of the 'noise' and 'road' substrates")
    road_noise: float = option(0.01, "std of the noise ROAD adds to its imputation", AT_LEAST_0)
    auc: Literal["trapezoid", "mean"] = option("trapezoid", "area under the curve, or the notebook's mean of steps")
    score: Literal["probability", "accuracy"] = option("probability", "target probability, or top-1 correctness")
    max_batch: int | None = option(None, "images per forward (default: 64 on CPU, from free memory on CUDA)",
                                   AT_LEAST_1)


@dataclasses.dataclass(frozen=True)
class PatchCurveOptions(CurveOptions):
    unit: Literal["pixel", "patch"] = option("patch", "what moves: whole patches (Chefer et al.'s), or pixels")


class PerturbationCurve:
    """Mixin for curve metrics (see ``CurveOptions``). A step that does not divide the unit count ends with a shorter
    last step (x = 1 exactly); ``default_spacing`` is the metric's own step or fraction when neither is given."""

    curve: ClassVar[bool] = True
    insertion: ClassVar[bool] = False
    descending: ClassVar[bool] = True
    default_spacing: ClassVar[dict[str, float]] = {}
    moved: ClassVar[str] = "removed"  # what a curve's x counts: units "removed", "inserted", ... (its plot's axis)
    Options: ClassVar[type[CurveOptions]] = CurveOptions
    name: ClassVar[str]
    options: CurveOptions

    @classmethod
    def parse_options(cls, options: Mapping[str, object] | None) -> CurveOptions:
        parsed = cls.Options.parse(options, f"metric {cls.name}")
        cls.step_spec(parsed)  # a bad step or fraction is refused now too
        return parsed

    @classmethod
    def step_spec(cls, options: CurveOptions) -> tuple[int | None, float | None]:
        """(step in units or None for the default, fraction or None). A step or fraction given as an option
        replaces the metric's default pair (MoRF/LeRF: 10% of the patches), not just its own half."""
        given = {k: getattr(options, k) for k in ("step", "fraction") if getattr(options, k) is not None}
        source = given if given else cls.default_spacing
        step, fraction = source.get("step"), source.get("fraction")
        if step is not None and fraction is not None:
            raise OptionError(f"metric {cls.name}: give step or fraction, not both")
        if isinstance(step, float) and 0 < step < 1:  # a step given as a fraction of all units
            step, fraction = None, step
        if step is not None and (int(step) != step or step < 1):
            raise OptionError(f"metric {cls.name}: step must be a whole number of units >= 1 or a fraction in "
                              f"(0, 1), got {step!r}")
        return (None if step is None else int(step)), (None if fraction is None else float(fraction))

    def protocol(self) -> dict[str, Any]:
        """What removed pixels become (with black's value), what moves per step, and which area is scored."""
        units = "patches" if self.options.unit == "patch" else "pixels"
        score = "probability" if self.options.score == "probability" else "top-1 correctness"
        out: dict[str, Any] = dict(substrate=self.options.substrate, unit=self.options.unit, auc=self.options.auc,
                                   curve_axes=[f"fraction of {units} {self.moved}", f"target-class {score}"])
        if self.options.substrate == "black":
            out["black_value"] = self.options.black_value
        return out

    def fit_to_data(self, mean: Sequence[float], std: Sequence[float]) -> None:
        """Take the data's normalisation for the 'black' substrate (a black pixel = -mean/std), unless given."""
        if self.options.substrate == "black" and self.options.black_value is None:
            self.options = dataclasses.replace(self.options, black_value=black_value(mean, std))

    def score(self, ctx: Context) -> MetricResult:
        if ctx.saliency is None:
            raise ValueError(f"{self.name} needs saliency maps")
        scores, curves, x = self.curves(ctx.model, ctx.images, ctx.targets, ctx.saliency)
        return MetricResult(scores, curves, x)

    def curves(self, model: nn.Module, images: torch.Tensor, targets: torch.Tensor,
               saliency: torch.Tensor) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(scores (B,), curves (B, S), x (S,))."""
        check_shapes(images, saliency, self.name)
        check_saliency(saliency, self.name)
        o = self.options
        patch = o.patch_size if o.patch_size is not None else self._model_patch(model, o.unit)
        height, width = images.shape[-2:]
        n_units = height * width if o.unit == "pixel" else (height // patch) * (width // patch)
        step, fraction = self.step_spec(o)
        counts = step_counts(n_units, step or (width if o.unit == "pixel" else 1), fraction)
        substrate = substrate_for(images, o.substrate, o.mean_value, o.blur_kernel, o.blur_sigma, o.seed,
                                  o.black_value)
        start, finish = (substrate, images) if self.insertion else (images, substrate)
        ranks = unit_ranks(saliency.to(images.device), o.unit, patch, descending=self.descending)
        fill = road_fill(images, self.insertion, o.road_noise, o.seed) if o.substrate == "road" else None
        curves = perturbation_curves(model, start, finish, ranks, counts, targets.to(images.device),
                                     o.max_batch or default_max_batch(model, images), o.score, fill)
        x = np.asarray(counts, dtype=np.float64) / n_units
        return area(curves, x, o.auc), curves, x

    def _model_patch(self, model: nn.Module, unit: str) -> int:
        """A patch unit's side: the model's patch (square patches only); 1 for the pixel unit."""
        sides = patch_size_of(model) if unit == "patch" else (1, 1)
        if sides[0] != sides[1]:  # a unit is a square of patch_size pixels
            raise ValueError(f"{self.name}: unit 'patch' needs square patches, the model's are {sides}; "
                             "set the metric's patch_size or use unit 'pixel'")
        return int(sides[0])

"""The shared engine of insertion, deletion, MoRF and LeRF: move units (pixels or patches) ordered by
saliency from a start image to a finish image, and score every intermediate image.

Written by hand because the libraries that offer these curves (Quantus' PixelFlipping, RISE's reference
code) run one forward per step per image; here every (image, step) pair of a chunk is built with one
vectorised comparison of the units' ranks against the step's count, and scored in batches of up to
``max_batch`` images under ``torch.inference_mode`` with the model's ordinary (fused) forward.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from iabench.errors import UserError, closest
from iabench.metrics import MetricResult
from iabench.metrics._substrates import SUBSTRATES, Fill, black_value, road_fill, substrate_for


class MetricOptionError(UserError, ValueError):
    """A bad metric option in a suite: one line for the CLI user, a ValueError for API callers."""


def check_saliency(saliency: torch.Tensor, who: str,
                   consequence: str = "its units are taken in raster order") -> torch.Tensor:
    """NaN/inf saliency is an error (no silent wrong number); a constant map (e.g. all zero) is warned
    about, naming the ``consequence`` (curve metrics: the stable sort takes its units in raster order,
    top-left first). Returns the (B,) mask of constant maps."""
    flat = saliency.flatten(1)
    if not torch.isfinite(flat).all():
        bad = (~torch.isfinite(flat).all(1)).nonzero().flatten().tolist()
        raise ValueError(f"{who}: saliency of sample(s) {bad} has NaN or inf values; it cannot be ranked")
    constant = (flat.amax(1) - flat.amin(1)) == 0
    if constant.any():
        warnings.warn(f"{who}: saliency of sample(s) {constant.nonzero().flatten().tolist()} is constant "
                      f"(e.g. all zero); {consequence}", RuntimeWarning, stacklevel=3)
    return constant


def check_shapes(images: torch.Tensor, saliency: torch.Tensor, who: str) -> None:
    """Images (B, C, H, W) and saliency (B, H, W) of the same B, H, W (a patch-grid map must be upsampled
    first, e.g. with ``iabench.baselines.upsample_patch_map``)."""
    if images.dim() != 4 or saliency.shape != (images.shape[0], *images.shape[-2:]):
        raise ValueError(f"{who}: saliency must be (B, H, W) = {(images.shape[0], *images.shape[-2:])} for images "
                         f"{tuple(images.shape)}, got {tuple(saliency.shape)}")


def unit_ranks(saliency: torch.Tensor, unit: str, patch: int, descending: bool = True) -> torch.Tensor:
    """Each pixel's rank (B, H, W): the position of its unit in the saliency order. Pixels of a patch share
    their patch's rank (patch score = mean saliency). Ties keep raster order (stable sort)."""
    batch, height, width = saliency.shape
    if unit == "patch":
        if height % patch or width % patch:
            raise ValueError(f"patch size {patch} does not divide the image size {height}x{width}")
        scores = F.avg_pool2d(saliency[:, None].double(), patch).flatten(1)
    elif unit == "pixel":
        scores = saliency.flatten(1).double()
    else:
        raise ValueError(f"unit must be 'pixel' or 'patch', got '{unit}'")
    order = torch.sort(scores, dim=1, descending=descending, stable=True).indices
    ranks = torch.empty_like(order)
    ranks.scatter_(1, order, torch.arange(order.shape[1], device=order.device).expand_as(order))
    if unit == "patch":
        rows, cols = height // patch, width // patch
        ranks = ranks.view(batch, rows, 1, cols, 1).expand(batch, rows, patch, cols, patch)
    return ranks.reshape(batch, height, width)


def step_counts(n_units: int, step: int | None = None, fraction: float | None = None) -> list[int]:
    """Units moved after each step, from 0 to n_units: every ``step`` units, or every ``fraction`` of them."""
    if fraction is not None:
        steps = round(1 / fraction)
        return sorted({min(n_units, round(i * fraction * n_units)) for i in range(steps + 1)} | {n_units})
    step = max(1, int(step or 1))
    return [min(i * step, n_units) for i in range(math.ceil(n_units / step) + 1)]


@torch.inference_mode()
def perturbation_curves(model: nn.Module, start: torch.Tensor, finish: torch.Tensor, ranks: torch.Tensor,
                        counts: Sequence[int], targets: torch.Tensor, max_batch: int = 64,
                        score: str = "probability", fill: Fill | None = None) -> np.ndarray:
    """(B, len(counts)) scores: for step s, the pixels whose rank < counts[s] come from ``finish``, the rest
    from ``start`` (or ``fill`` builds the images, for substrates that depend on the step); score = softmax
    probability of the target (or 1/0 top-1 correctness)."""
    was_training = model.training
    model.eval()
    try:
        batch = start.shape[0]
        counts_t = torch.as_tensor(list(counts), device=start.device)
        pairs = torch.cartesian_prod(torch.arange(batch, device=start.device),
                                     torch.arange(len(counts), device=start.device))
        out = torch.empty(batch, len(counts), dtype=torch.float64)
        for chunk in pairs.split(max(1, max_batch)):
            sample, step = chunk[:, 0], chunk[:, 1]
            moved = (ranks[sample] < counts_t[step][:, None, None])[:, None]
            images = torch.where(moved, finish[sample], start[sample]) if fill is None else fill(sample, step, moved)
            logits = model(images).float()
            if score == "accuracy":
                values = (logits.argmax(1) == targets[sample]).double()
            else:
                values = logits.softmax(1).gather(1, targets[sample][:, None])[:, 0].double()
            out[sample.cpu(), step.cpu()] = values.cpu()
        return out.numpy()
    finally:
        model.train(was_training)


def default_max_batch(model: nn.Module, images: torch.Tensor) -> int:
    """Images per forward when not given: 64 on CPU (the measured optimum for the tiny model on 2 cores:
    5,400 images/s at 64 vs 3,200 at 1,024); on CUDA as many as half the free memory holds (estimated from
    the ViT's attention maps and a few token copies per image, at most 1,024)."""
    from iabench.device import batch_size_for
    from iabench.models import vit_backbone

    if images.device.type != "cuda":
        return 64
    try:
        vit = vit_backbone(model)
        tokens = int(vit.patch_embed.num_patches) + int(vit.num_prefix_tokens)
        width, heads = int(vit.embed_dim), int(vit.blocks[0].attn.num_heads)
    except (TypeError, AttributeError):  # not a ViT: budget by the image size alone
        tokens, width, heads = images[0].numel(), 8, 0
    return batch_size_for(images.device, 128, 4 * (heads * tokens * tokens + 8 * tokens * width))


def area(curves: np.ndarray, x: np.ndarray, how: str) -> np.ndarray:
    """Per-curve area: trapezoid rule over x in [0, 1], or the plain mean of the step scores (the IA-ViT
    notebook's number)."""
    if how == "trapezoid":
        return np.trapezoid(curves, x, axis=1)
    if how == "mean":
        return curves.mean(axis=1)
    raise ValueError(f"auc must be 'trapezoid' or 'mean', got '{how}'")


class PerturbationCurve:
    """Mixin for curve metrics. Options (constructor keywords):

    - ``step``: units moved per step (default: one image row's worth of pixels, W, which is the paper's
      224 at 224 px, i.e. 224 steps + the unperturbed image, and 28 at 28 px, i.e. 29 forwards per curve;
      1 patch for ``unit='patch'``); a float in (0, 1), or ``fraction``, moves that share of all units
      per step. A step that does not divide the unit count ends with a shorter last step (x = 1 exactly);
    - ``unit``: 'pixel' (default) or 'patch' (whole patches, ``patch_size`` default = the model's);
    - ``substrate``: 'zeros' (default, the IA-ViT paper), 'blur' (``blur_kernel`` 11, ``blur_sigma`` 5, as
      RISE; the kernel shrinks to the largest odd size below the image side), 'mean' (per-channel
      ``mean_value``, default zeros), 'black' (a black pixel, ``black_value``, set by a run from the data),
      'noise' (uniform in each image's range; ``seed``) or 'road' (ROAD's
      noisy linear imputation of the removed pixels, noise std ``road_noise`` 0.01; see ``_substrates``).
      Also by short name: ``deletion[blur]``, ``deletion[patch]``, ``deletion[blur,patch]``;
    - ``auc``: 'trapezoid' (default) or 'mean' (the IA-ViT notebook's plain mean of the step scores);
    - ``score``: 'probability' (softmax of the target; default) or 'accuracy';
    - ``max_batch``: images per forward (default: ``default_max_batch``, 64 on CPU, from half the free
      memory on CUDA).
    """

    insertion: bool = False
    descending: bool = True
    defaults: dict[str, object] = {}
    OPTIONS = ("step", "fraction", "unit", "patch_size", "substrate", "mean_value", "black_value", "blur_kernel",
               "blur_sigma", "seed", "road_noise", "auc", "score", "max_batch")
    CHOICES = {"unit": ("pixel", "patch"), "substrate": SUBSTRATES, "auc": ("trapezoid", "mean"),
               "score": ("probability", "accuracy")}

    def __init__(self, **options: object) -> None:
        # a misspelt option would otherwise be ignored silently: refuse it when the suite is read
        for key in sorted(set(options) - set(self.OPTIONS)):
            raise MetricOptionError(f"metric {self.name}: unknown option '{key}'{closest(key, self.OPTIONS)}; "  # type: ignore[attr-defined]
                                    f"choose from: {', '.join(self.OPTIONS)}")
        for key, choices in self.CHOICES.items():
            if key in options and options[key] not in choices:
                raise MetricOptionError(f"metric {self.name}: option {key} must be one of {', '.join(choices)}, "  # type: ignore[attr-defined]
                                        f"got '{options[key]}'")
        super().__init__(**options)  # type: ignore[call-arg]
        self.step_spec()  # a bad step or fraction is refused now too

    def step_spec(self) -> tuple[int | None, float | None]:
        """(step in units or None for the default, fraction or None). A step or fraction given as an option
        replaces the metric's default pair (MoRF/LeRF: 10% of the patches), not just its own half."""
        given = {k: self.options[k] for k in ("step", "fraction") if k in self.options}  # type: ignore[attr-defined]
        source = given if given else self.defaults
        step, fraction = source.get("step"), source.get("fraction")
        if step is not None and fraction is not None:
            raise MetricOptionError(f"metric {self.name}: give step or fraction, not both")  # type: ignore[attr-defined]
        if isinstance(step, float) and 0 < step < 1:  # a step given as a fraction of all units
            step, fraction = None, step
        if step is not None and (isinstance(step, bool) or not isinstance(step, int | float) or int(step) != step
                                 or step < 1):
            raise MetricOptionError(f"metric {self.name}: step must be a whole number of units >= 1 or a "  # type: ignore[attr-defined]
                                    f"fraction in (0, 1), got {step!r}")
        if fraction is not None and not (isinstance(fraction, int | float) and 0 < fraction <= 1):
            raise MetricOptionError(f"metric {self.name}: fraction must be in (0, 1], got {fraction!r}")  # type: ignore[attr-defined]
        return (None if step is None else int(step)), (None if fraction is None else float(fraction))

    def option(self, key: str, default: object = None) -> object:
        return self.options.get(key, self.defaults.get(key, default))  # type: ignore[attr-defined]

    def fit_to_data(self, mean: Sequence[float], std: Sequence[float]) -> None:
        """Take the data's normalisation for the 'black' substrate (a black pixel = -mean/std), unless given."""
        if self.option("substrate") == "black" and self.option("black_value") is None:
            self.options["black_value"] = black_value(mean, std)  # type: ignore[attr-defined]

    def __call__(self, model: nn.Module, images: torch.Tensor, targets: torch.Tensor,
                 saliency: torch.Tensor | None = None, **_: object) -> MetricResult:
        if saliency is None:
            raise ValueError(f"{self.name} needs saliency maps")  # type: ignore[attr-defined]
        scores, curves, x = self.curves(model, images, targets, saliency)
        return MetricResult(scores, curves, x)

    @property
    def auc(self) -> str:
        return str(self.option("auc", "trapezoid"))

    def curves(self, model: nn.Module, images: torch.Tensor, targets: torch.Tensor,
               saliency: torch.Tensor) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(scores (B,), curves (B, S), x (S,))."""
        check_shapes(images, saliency, self.name)  # type: ignore[attr-defined]
        check_saliency(saliency, self.name)  # type: ignore[attr-defined]
        unit = str(self.option("unit", "pixel"))
        patch = self.option("patch_size")
        if patch is None:
            from iabench.models import vit_backbone

            sides = tuple(vit_backbone(model).patch_embed.patch_size) if unit == "patch" else (1, 1)
            if sides[0] != sides[1]:  # a unit is a square of patch_size pixels
                raise ValueError(f"{self.name}: unit 'patch' needs square patches, the model's are {sides}; "
                                 "set the metric's patch_size or use unit 'pixel'")
            patch = int(sides[0])
        height, width = images.shape[-2:]
        n_units = height * width if unit == "pixel" else (height // int(patch)) * (width // int(patch))
        step, fraction = self.step_spec()
        counts = step_counts(n_units, step or (width if unit == "pixel" else 1), fraction)
        kind, seed = str(self.option("substrate", "zeros")), int(self.option("seed", 0))  # type: ignore[arg-type]
        substrate = substrate_for(images, kind, self.option("mean_value"), int(self.option("blur_kernel", 11)),  # type: ignore[arg-type]
                                  float(self.option("blur_sigma", 5.0)), seed, self.option("black_value"))  # type: ignore[arg-type]
        start, finish = (substrate, images) if self.insertion else (images, substrate)
        ranks = unit_ranks(saliency.to(images.device), unit, int(patch), descending=self.descending)
        noise = float(self.option("road_noise", 0.01))  # type: ignore[arg-type]
        fill = road_fill(images, self.insertion, noise, seed) if kind == "road" else None
        curves = perturbation_curves(model, start, finish, ranks, counts, targets.to(images.device),
                                     int(self.option("max_batch") or default_max_batch(model, images)),  # type: ignore[arg-type]
                                     str(self.option("score", "probability")), fill)
        x = np.asarray(counts, dtype=np.float64) / n_units
        return area(curves, x, self.auc), curves, x

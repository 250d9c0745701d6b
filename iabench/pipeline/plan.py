"""Stage 1, plan: where the run goes, which images it evaluates, and its work items."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..cache_home import default_cache_dir
from ..config import DataConfig, VerdictConfig, config_hash
from ..data import DataBundle, dataset_options
from ..device import batch_size_for
from ..errors import UserError
from ..metrics import METRICS
from ..suites import MethodSpec, Suite


@dataclass
class RunOptions:
    """How to run (not what): where outputs and caches go, which device, progress display."""

    out_dir: Path = Path("reports")
    cache_dir: Path = field(default_factory=default_cache_dir)
    device: str = "auto"
    run_id: str = ""
    fresh: bool = False
    progress: bool = True
    report: bool = True
    jobs: int = 1  # CPU: processes training models and explaining+scoring; 0 = auto (torch's threads; 1 on a GPU)
    model: str = ""  # with checkpoint: evaluate this model (ARCH or ia-vit:ARCH) instead of training the suite's
    checkpoint: str = ""
    shard: str = ""  # "I/N": explain and score shard I of N only (without torchrun; `iabench merge` joins them)
    num_heads: int | None = None  # a given model's heads (--set model.num_heads), where its weights do not show them
    img_size: int | None = None  # data.img_size asked of a given model: refused unless its own (a CNN: applied)
    named_explainers: bool = False  # --set explainers=... named them (on a CNN, a ViT-only one is refused)


@dataclass(frozen=True)
class WorkItem:
    """One unit of explaining and scoring: a model of one seed with one explainer (None: model-level metrics)."""

    seed: int
    model: str
    explainer: str | None


def hashable_data(config: DataConfig) -> DataConfig:
    """What a cache key holds of the data: not where the files live (that does not change what they are), and every
    option of the dataset, defaults included (one key however the options were spelled)."""
    return dataclasses.replace(config, root="", options=dataset_options(config))


def suite_hash(suite: Suite) -> str:
    """The run's identity: everything that changes its scores (not where the data lives, not the verdict's
    thresholds, which only the report reads)."""
    return config_hash(dataclasses.replace(suite, data=hashable_data(suite.data), verdict=VerdictConfig()))


def create_metrics(suite: Suite, device: torch.device) -> dict[str, Any]:
    """label -> metric, built from the suite's options (and, on CUDA, the batch size free memory allows)."""
    return {s.label: METRICS.create(s.name, **metric_options(s, suite, device)) for s in suite.metrics}


def metric_options(spec: MethodSpec, suite: Suite, device: torch.device) -> dict[str, Any]:
    """A metric's options from the suite; on CUDA, forwards batched as large as half the free memory allows (for
    the metrics that take ``max_batch``: the others would refuse an option they do not have)."""
    options = dict(spec.options)
    takes_batch = "max_batch" in {f.name for f in dataclasses.fields(METRICS.get(spec.name).Options)}
    if device.type == "cuda" and takes_batch and "max_batch" not in options:
        config = max((v.model for v in suite.models), key=lambda c: (c.img_size // c.patch_size) ** 2)
        tokens = (config.img_size // config.patch_size) ** 2 + 1
        width, heads = config.embed_dim or 768, config.num_heads or 12
        per_image = 4 * (heads * tokens * tokens + 8 * tokens * width)  # attention + a few token copies
        if any(v.kind == "feature-map" for v in suite.models):  # a CNN's early stages: ~64 floats per pixel
            per_image = max(per_image, 4 * 64 * config.img_size ** 2)
        options["max_batch"] = batch_size_for(device, 1024, per_image)
    return options


def fit_metrics(metrics: dict[str, Any], data: DataBundle, suite_name: str,
                explainers: dict[str, type] | None = None) -> None:
    """Refuse localisation metrics and oracle explainers on data without masks (one line); fit the metrics that
    read the data's normalisation (the 'black' substrate: a black pixel is -mean/std)."""
    for label, metric in metrics.items():
        mask = getattr(metric.options, "mask", "")
        if mask and mask not in data.masks:
            raise UserError(f"metric {label} scores against mask '{mask}' but dataset '{data.name}' declares "
                            f"{', '.join(data.masks) or 'no masks'}")
    oracles = [label for label, cls in (explainers or {}).items() if cls.needs.masks]  # type: ignore[attr-defined]
    if oracles and not data.has_masks:
        raise UserError(f"explainer {oracles[0]} reads ground-truth masks but dataset '{data.name}' has none; use "
                        "data.name=evidence-fashion-mnist (or another dataset with masks, see iabench list)")
    if any(m.needs.masks for m in metrics.values()) and not data.has_masks:
        raise UserError(f"suite '{suite_name}' has localisation metrics but dataset '{data.name}' has no "
                        "ground-truth masks; use data.name=cluttered-fashion-mnist")
    for metric in metrics.values():
        if hasattr(metric, "fit_to_data"):
            metric.fit_to_data(data.mean, data.std)


def applies(method: object, kind: str) -> bool:
    """Whether an explainer or metric (class or instance) runs on a model of ``kind``: those that need an IA-ViT
    (``needs.ia_vit``) run on IA-ViTs only, those that read a ViT's tokens (``needs.vit``) not on a feature-map
    model (a CNN or a Swin)."""
    return method.needs.applies_to(kind)  # type: ignore[attr-defined]


def explainer_classes(specs: list) -> dict[str, type]:
    """label -> registered class of each explainer spec, its options checked now (one line, before any work)."""
    from ..baselines import EXPLAINERS

    classes = {}
    for spec in specs:
        registered = EXPLAINERS.get(spec.name)
        registered.parse_options(spec.options)
        classes[spec.label] = registered.resolved(spec.options)  # e.g. shuffled:ia-vit needs an IA-ViT
    return classes


def scores_maps_of(metric: object, explainer_class: type) -> bool:
    """Whether ``metric`` scores the maps of ``explainer_class``: a metric that needs maps decomposing the target
    logit (``needs.decomposition``, e.g. conservation) skips the explainers whose maps do not
    (``Explainer.decomposes_logit`` False, e.g. attention); a metric that explains again skips an oracle."""
    if metric.needs.explain_fn and explainer_class.needs.masks:  # type: ignore[attr-defined]
        return False  # an oracle cannot explain again: the changed model or input has no ground truth of its own
    return not metric.needs.decomposition or explainer_class.decomposes_logit  # type: ignore[attr-defined]


def work_items(suite: Suite, explainer_classes: dict[str, type], seed: int) -> list[WorkItem]:
    """Per model variant of ``seed``: its model-level metrics, then each explainer that applies to it."""
    items = []
    for variant in suite.models:
        if seed not in variant.seeds:
            continue
        items.append(WorkItem(seed, variant.name, None))
        items += [WorkItem(seed, variant.name, label) for label, cls in explainer_classes.items()
                  if applies(cls, variant.kind) and variant.explains(label)]
    return items

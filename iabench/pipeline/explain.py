"""Stage 3, explain: saliency maps per chunk, from the explanation cache or computed and cached.

A map is cached under (checkpoint, explainer name, options, target rule, sample indices, a hash of the
explainers' source code, so that a changed method is recomputed); a failed
explanation is recorded per sample in the run's failures.csv at once and becomes NaN, so the run goes on.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import inspect
import logging
import sys
from pathlib import Path

import pandas as pd
import torch
from torch import nn

from ..baselines import BoundExplainer
from ..config import config_hash
from ..suites import MethodSpec
from ..training.checkpoint import atomic_torch_save
from .plan import applies

log = logging.getLogger("iabench")
FAILURE_COLUMNS = ["seed", "model", "explainer", "sample", "error"]


def explainer_sources(cls: type) -> list[Path]:
    """The source files an explainer's maps depend on: its own module, every module of ``iabench.baselines``
    (shared rules and helpers), of ``iabench.models`` (attention capture), the substrates (some baselines), the
    modes and the contract (options)."""
    import iabench.baselines
    import iabench.contract
    import iabench.models
    import iabench.modes
    import iabench.substrates

    files = {Path(inspect.getfile(sys.modules[cls.__module__])), Path(iabench.substrates.__file__),
             Path(iabench.modes.__file__)}
    files.update(Path(iabench.contract.__file__).parent.glob("*.py"))
    for package in (iabench.baselines, iabench.models):
        files.update(Path(package.__file__).parent.glob("*.py"))
    return sorted(files)


def digest_of(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


@functools.cache
def source_digest(cls: type) -> str:
    """A hash of the code behind ``cls``'s maps (``explainer_sources``): a changed method, or a changed rule or
    helper it uses, never reuses stale cached maps (the price: any such change recomputes every explainer)."""
    return digest_of(explainer_sources(cls))


class FailureLog:
    """failures.csv of a run: appended at once (a kill loses nothing), sorted and de-duplicated at the end."""

    def __init__(self, run_dir: Path | None, suffix: str = "") -> None:
        self.path = run_dir / f"failures{suffix}.csv" if run_dir is not None else None
        self.count = 0

    def record(self, seed: int, model: str, explainer: str, idx: list[int], error: str) -> None:
        self.count += len(idx)
        if self.path is None:
            return
        new = not self.path.exists()
        with open(self.path, "a", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            if new:
                writer.writerow(FAILURE_COLUMNS)
            writer.writerows([seed, model, explainer, sample, error.replace("\n", " ")[:300]] for sample in idx)

    def finalize(self) -> None:
        """Sort and de-duplicate (a resumed run may have recorded a failure twice)."""
        if self.path is None or not self.path.exists():
            return
        frame = pd.read_csv(self.path).drop_duplicates(subset=["seed", "model", "explainer", "sample"])
        frame.sort_values(["seed", "model", "explainer", "sample"]).to_csv(self.path, index=False)


class Explanations:
    """Explains chunks of samples with the suite's explainers; ``cache_dir`` None computes every time."""

    def __init__(self, specs: list[MethodSpec], classes: dict[str, type], target: str, cache_dir: Path | None,
                 failures: FailureLog) -> None:
        self.specs = {spec.label: spec for spec in specs}
        self.classes = classes
        self.target = target
        self.cache_dir = cache_dir
        self.failures = failures
        self.computed = False  # whether the last map was computed (False: read from the cache)

    def __call__(self, model: nn.Module, model_key: str, label: str, images: torch.Tensor, targets: torch.Tensor,
                 idx: list[int], seed: int, name: str, masks: torch.Tensor | None = None) -> torch.Tensor:
        """Saliency (B, H, W) of explainer ``label`` for one chunk; ``model_key`` names the model's weights; ``masks``
        the chunk's ground truth (read by an oracle only)."""
        spec = self.specs[label]
        path = None
        if self.cache_dir is not None:
            key = config_hash(model_key, spec.name, spec.options, self.target, idx, source_digest(self.classes[label]))
            path = self.cache_dir / "explanations" / f"{spec.name}-{key}.pt"
            if path.exists():
                try:
                    saliency = torch.load(path, map_location=images.device, weights_only=True)
                except Exception:  # a torn cache file is recomputed, never trusted
                    path.unlink(missing_ok=True)
                else:
                    # all NaN: a failed map, which earlier iabench cached (commit e2b85e1 stopped it); a poisoned
                    # cache would fail the same images in every later run, so it is recomputed, never served
                    if not torch.isnan(saliency).all():
                        self.computed = False
                        return saliency
                    path.unlink(missing_ok=True)
        self.computed = True
        try:
            saliency = self.classes[label](model, **spec.options).attribute(images, targets, masks)
        except Exception as err:  # recorded per sample and reported; the run goes on
            log.warning("%s on %s failed: %s", label, name, err)
            self.failures.record(seed, name, label, idx, f"{type(err).__name__}: {err}")
            # never cached: a failure (a missing input, memory) is tried again by the next run
            return torch.full(images.shape[:1] + images.shape[-2:], float("nan"), device=images.device)
        if path is not None:
            atomic_torch_save(saliency.cpu(), path)
        return saliency

    def handle(self, label: str) -> BoundExplainer:
        """Explainer ``label`` as the handle a metric is given (the sanity metrics re-explain changed models;
        conservation asks for AttnLRP's budget or IG's reference logit)."""
        return BoundExplainer(self.classes[label], self.specs[label].options)

    def reference_label(self, metric: object, kind: str) -> str | None:
        """For a metric that compares with a reference explainer the suite also runs (same name and options):
        that explainer's label, when it applies to a model of ``kind``."""
        wanted = getattr(metric, "reference_spec", None)
        spec = next((s for s in self.specs.values() if wanted and (s.name, s.options) == wanted), None)
        if spec is None or not applies(self.classes[spec.label], kind):
            return None
        return spec.label

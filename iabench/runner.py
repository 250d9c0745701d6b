"""The main job: config -> data -> models (trained or cached) -> explanations -> scores -> report.

Each stage's output is cached under a key of its inputs: checkpoints under the training config's
hash, saliency maps under (checkpoint, explainer, options, targets, samples), per-sample scores in
the run directory's append-only ``results.csv``. A run stopped at any moment continues where it
stopped when run again with the same configuration (same run directory) and ends with identical files.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import logging
import os
import platform
import subprocess
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from .config import DataConfig, config_hash, to_dict
from .data import DataBundle, load_dataset
from .device import batch_size_for, resolve_device
from .errors import UserError
from .store import ResultStore
from .suites import MethodSpec, Suite, load_suite
from .suites.variants import ModelVariant
from .targets import explained_targets
from .training import TrainedModel, train_or_load
from .training.checkpoint import atomic_torch_save
from .training.parallel import TrainJob, auto_jobs, train_in_parallel

log = logging.getLogger("iabench")
FAILURE_COLUMNS = ["seed", "model", "explainer", "sample", "error"]


def default_cache_dir() -> Path:
    return Path(os.environ.get("IABENCH_CACHE", Path.home() / ".cache" / "iabench"))


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
    jobs: int = 1  # CPU: models trained at once, one process each; 0 = auto (torch's thread count; 1 on a GPU)


@dataclass
class Samples:
    """The evaluated images of one split: dataset indices, normalised images, labels, masks."""

    indices: list[int]
    images: torch.Tensor
    labels: torch.Tensor
    masks: torch.Tensor | None


def _hashable_data(config: DataConfig) -> DataConfig:
    return dataclasses.replace(config, root="")  # where the files live does not change what they are


def suite_hash(suite: Suite) -> str:
    return config_hash(dataclasses.replace(suite, data=_hashable_data(suite.data)))


def prepare_run_dir(suite: Suite, options: RunOptions) -> tuple[Path, str]:
    """The run directory (created, checked writable); an existing one of another config is refused."""
    run_id = options.run_id or suite_hash(suite)
    run_dir = Path(options.out_dir) / suite.name / run_id
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        probe = run_dir / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as err:
        raise UserError(f"cannot write to '{run_dir}' ({err.strerror}); pass --out DIR with a writable "
                        "directory") from None
    manifest = run_dir / "manifest.json"
    if manifest.exists() and not options.fresh:
        stored = json.loads(manifest.read_text()).get("config_hash")
        if stored and stored != suite_hash(suite):
            raise UserError(f"run directory '{run_dir}' holds a run of another configuration; use another "
                            "--run-id, or --fresh to discard it")
    return run_dir, run_id


def select_samples(data: DataBundle, split: str, count: int, seed: int) -> Samples:
    """``count`` images of ``split`` drawn without replacement from ``seed``, in ascending index order."""
    dataset = data.test if split == "test" else data.val
    n = len(dataset)  # type: ignore[arg-type]
    if count > n:
        raise UserError(f"--samples {count} is more than the {split} split holds ({n}); use at most {n}")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:count].sort().values.tolist()
    items = [dataset[i] for i in order]
    images = torch.stack([item[0] for item in items])
    labels = torch.tensor([int(item[1]) for item in items])
    masks = torch.stack([torch.as_tensor(item[2]) for item in items]).bool() if data.has_masks else None
    return Samples(order, images, labels, masks)


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for package in ("iabench", "torch", "torchvision", "timm", "captum", "quantus", "numpy", "pandas", "scipy"):
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            out[package] = "not installed"
    return out


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True,
                              text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


class Run:
    """One suite, one run directory."""

    def __init__(self, suite: Suite, options: RunOptions) -> None:
        from iabench.baselines import EXPLAINERS
        from iabench.metrics import METRICS

        self.suite = suite
        self.options = options
        self.device = resolve_device(options.device)
        # the suite as asked for; _load_data may later fit in_chans/num_classes to the dataset
        self.config_hash = suite_hash(suite)
        self.run_dir, self.run_id = prepare_run_dir(suite, options)
        self.cache_dir = Path(options.cache_dir).expanduser()
        self.timings: dict[str, float] = {}
        self.explainer_classes = {s.label: EXPLAINERS.get(s.name) for s in suite.explainers}
        self.metrics = {s.label: METRICS.create(s.name, **self._metric_options(s)) for s in suite.metrics}
        self.failure_count = 0

    def _metric_options(self, spec: MethodSpec) -> dict[str, Any]:
        """The suite's options; on CUDA, forwards batched as large as half the free memory allows."""
        options = dict(spec.options)
        if self.device.type == "cuda" and "max_batch" not in options:
            config = max((v.model for v in self.suite.models), key=lambda c: (c.img_size // c.patch_size) ** 2)
            tokens = (config.img_size // config.patch_size) ** 2 + 1
            width, heads = config.embed_dim or 768, config.num_heads or 12
            per_image = 4 * (heads * tokens * tokens + 8 * tokens * width)  # attention + a few token copies
            options["max_batch"] = batch_size_for(self.device, 1024, per_image)
        return options

    # -- stages -------------------------------------------------------------------------------------
    def execute(self) -> Path:
        started = time.perf_counter()
        self._stage("data", self._load_data)
        if any(m.needs_masks for m in self.metrics.values()) and not self.data.has_masks:
            raise UserError(f"suite '{self.suite.name}' has localisation metrics but dataset '{self.data.name}' "
                            "has no ground-truth masks; use data.name=cluttered-fashion-mnist")
        self.samples = select_samples(self.data, self.suite.split, self.suite.samples, self.suite.data.seed)
        self.trained: dict[tuple[int, str], TrainedModel] = {}
        if self.options.jobs == 0:
            self.options.jobs = auto_jobs(self.device)
        if self.options.jobs > 1:
            self._stage("train", self._train_parallel)
        for seed in self.suite.seeds:
            self._stage("train", lambda seed=seed: self._train(seed))
        if self.options.fresh:  # only now: a run that fails before this point leaves earlier results intact
            for name in ("results.csv", "curves.csv", "failures.csv"):
                (self.run_dir / name).unlink(missing_ok=True)
        self.store = ResultStore(self.run_dir, self.run_id)
        for seed in self.suite.seeds:
            self._stage("explain+score", lambda seed=seed: self._score(seed))
        self.store.finalize()
        self._stage("artifacts", self._write_artifacts)
        self.timings["total"] = time.perf_counter() - started
        self._write_manifest()
        if self.options.report:
            from .reporting import build_report

            self._stage("report", lambda: build_report(self.run_dir))
            self._write_manifest()
        return self.run_dir

    def _stage(self, name: str, fn: Any) -> Any:
        started = time.perf_counter()
        result = fn()
        self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - started
        return result

    def _load_data(self) -> None:
        self.data = load_dataset(self.suite.data)
        fitted = dict(in_chans=self.data.in_chans, num_classes=self.data.num_classes)
        self.suite.model = dataclasses.replace(self.suite.model, **fitted)
        for variant in self.suite.models:  # fit every variant to the dataset's channels and classes
            variant.model = dataclasses.replace(variant.model, **fitted)
            if self.data.img_size != variant.model.img_size:
                raise UserError(f"data.img_size ({self.data.img_size}) differs from model.img_size "
                                f"({variant.model.img_size}) of model '{variant.name}'; set both to the same value")

    def _variants(self, seed: int) -> list[ModelVariant]:
        return [v for v in self.suite.models if seed in v.seeds]

    def _train(self, seed: int) -> None:
        for variant in self._variants(seed):
            log.info("model %s (%s), seed %d", variant.name, variant.kind, seed)
            self.trained[(seed, variant.name)] = train_or_load(
                variant.kind, variant.model, _hashable_data(self.suite.data),
                dataclasses.replace(variant.train, seed=seed), self.data, self.device, self.cache_dir,
                progress=self.options.progress)

    def _train_parallel(self) -> None:
        if self.device.type != "cpu":
            raise UserError(f"--jobs {self.options.jobs} trains in CPU processes; on {self.device.type} use one "
                            "job per process (torchrun for several GPUs)")
        jobs = [TrainJob(f"{v.name}/seed{seed}", v.kind, v.model, dataclasses.replace(v.train, seed=seed))
                for seed in self.suite.seeds for v in self._variants(seed)]
        jobs.sort(key=self._training_cost, reverse=True)  # longest first: no long model left alone at the end
        train_in_parallel(jobs, self.suite.data, _hashable_data(self.suite.data), self.cache_dir,
                          self.options.jobs, self.options.progress)

    def _training_cost(self, job: TrainJob) -> float:
        """Rough relative cost of training a job: steps x tokens, doubled for IA-ViT's extra attention."""
        steps = job.train.max_steps or job.train.epochs * (len(self.data.train) // job.train.batch_size)
        tokens = (job.model.img_size // job.model.patch_size) ** 2
        return steps * tokens * (2.0 if job.kind == "ia-vit" else 1.0)

    def _chunks(self) -> list[tuple[int, int]]:
        n, size = len(self.samples.indices), self.suite.batch_size
        return [(start, min(start + size, n)) for start in range(0, n, size)]

    def _score(self, seed: int) -> None:
        units = []
        for variant in self._variants(seed):
            units.append((variant.name, None))
            for label, cls in self.explainer_classes.items():
                if variant.kind == "ia-vit" or not cls.requires_ia_vit:
                    units.append((variant.name, label))
        bar = tqdm(units, desc=f"explain+score (seed {seed})", disable=not self.options.progress, dynamic_ncols=True)
        for name, explainer in bar:
            bar.set_postfix_str(f"{name} / {explainer or 'model metrics'}")
            trained = self.trained[(seed, name)]
            if explainer is None:
                self._score_model_level(seed, name, trained)
            else:
                self._score_explainer(seed, name, trained, explainer)

    def _applicable(self, metric: Any, trained: TrainedModel) -> bool:
        return trained.kind == "ia-vit" or not metric.needs_ia_vit

    def _score_model_level(self, seed: int, name: str, trained: TrainedModel) -> None:
        metrics = {k: m for k, m in self.metrics.items() if not m.needs_saliency and self._applicable(m, trained)}
        for start, stop in self._chunks():
            idx = self.samples.indices[start:stop]
            todo = {k: m for k, m in metrics.items()
                    if self.store.missing((seed, name, "-", k, s) for s in idx)}
            if not todo:
                continue
            images = self.samples.images[start:stop].to(self.device)
            labels = self.samples.labels[start:stop].to(self.device)
            for label, metric in todo.items():
                result = metric(trained.model, images, labels)
                self._store(seed, name, "-", label, idx, result)

    def _explain(self, seed: int, name: str, trained: TrainedModel, label: str, images: torch.Tensor,
                 targets: torch.Tensor, idx: list[int]) -> torch.Tensor:
        """Saliency for one chunk, from the explanation cache or computed and cached."""
        spec = next(s for s in self.suite.explainers if s.label == label)
        key = config_hash(trained.checkpoint.name, spec.name, spec.options, self.suite.target, idx)
        path = self.cache_dir / "explanations" / f"{spec.name}-{key}.pt"
        if path.exists():
            try:
                return torch.load(path, map_location=self.device, weights_only=True)
            except Exception:  # a torn cache file is recomputed, never trusted
                path.unlink(missing_ok=True)
        explainer = self.explainer_classes[label](trained.model, **spec.options)
        try:
            saliency = explainer.attribute(images, targets)
        except Exception as err:  # recorded per sample and reported; the run goes on
            log.warning("%s on %s failed: %s", label, name, err)
            saliency = torch.full(images.shape[:1] + images.shape[-2:], float("nan"), device=images.device)
            self._fail(seed, name, label, idx, f"{type(err).__name__}: {err}")
        atomic_torch_save(saliency.cpu(), path)
        return saliency

    def _fail(self, seed: int, name: str, explainer: str, idx: list[int], error: str) -> None:
        """Record failed explanations at once (append), so a kill cannot lose them."""
        path = self.run_dir / "failures.csv"
        new = not path.exists()
        with open(path, "a", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            if new:
                writer.writerow(FAILURE_COLUMNS)
            writer.writerows([seed, name, explainer, sample, error.replace("\n", " ")[:300]] for sample in idx)
        self.failure_count += len(idx)

    def _score_explainer(self, seed: int, name: str, trained: TrainedModel, label: str) -> None:
        metrics = {k: m for k, m in self.metrics.items() if m.needs_saliency and self._applicable(m, trained)}
        spec = next(s for s in self.suite.explainers if s.label == label)
        for start, stop in self._chunks():
            idx = self.samples.indices[start:stop]
            todo = {k: m for k, m in metrics.items() if self.store.missing((seed, name, label, k, s) for s in idx)}
            if not todo:
                continue
            images = self.samples.images[start:stop].to(self.device)
            labels = self.samples.labels[start:stop].to(self.device)
            masks = self.samples.masks[start:stop].to(self.device) if self.samples.masks is not None else None
            targets = explained_targets(trained.model, images, labels, self.suite.target)
            saliency = self._explain(seed, name, trained, label, images, targets, idx)
            finite = torch.isfinite(saliency.flatten(1)).all(1)
            if not finite.all():
                bad = [s for s, ok in zip(idx, finite.tolist()) if not ok]
                self._fail(seed, name, label, bad, "saliency is not finite (NaN or inf)")
            keep = finite.nonzero().flatten()
            for metric_label, metric in todo.items():
                values = np.full(len(idx), np.nan)
                curves = curve_x = None
                if len(keep):
                    explain_fn = self._explain_fn(spec) if metric.needs_explain_fn else None
                    reference = self._reference_map(metric, seed, name, trained, label, saliency, images, targets,
                                                    idx)
                    result = metric(trained.model, images[keep], targets[keep], saliency[keep],
                                    masks=masks[keep] if masks is not None else None, explain_fn=explain_fn,
                                    **({} if reference is None else {"reference_map": reference[keep]}))
                    values[keep.cpu().numpy()] = np.asarray(result.scores, dtype=float)
                    if result.curves is not None:
                        curve_x = result.curve_x
                        curves = np.full((len(idx), len(curve_x)), np.nan)
                        curves[keep.cpu().numpy()] = result.curves
                self.store.add(seed, name, label, metric_label, idx, values, curve_x, curves)

    def _reference_map(self, metric: Any, seed: int, name: str, trained: TrainedModel, label: str,
                       saliency: torch.Tensor, images: torch.Tensor, targets: torch.Tensor,
                       idx: list[int]) -> torch.Tensor | None:
        """For a metric that compares with a reference explainer the suite also runs (same name and options),
        that explainer's map of this chunk from the explanation cache: computed once, not once per metric."""
        wanted = getattr(metric, "reference_spec", None)
        spec = next((s for s in self.suite.explainers if wanted and (s.name, s.options) == wanted), None)
        if spec is None or (self.explainer_classes[spec.label].requires_ia_vit and trained.kind != "ia-vit"):
            return None
        if spec.label == label:
            return saliency
        return self._explain(seed, name, trained, spec.label, images, targets, idx)

    def _explain_fn(self, spec: MethodSpec) -> Any:
        cls = self.explainer_classes[spec.label]

        def explain(model: nn.Module, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
            return cls(model, **spec.options).attribute(images, targets)

        return explain

    def _store(self, seed: int, name: str, explainer: str, metric: str, idx: list[int], result: Any) -> None:
        self.store.add(seed, name, explainer, metric, idx, np.asarray(result.scores, dtype=float),
                       result.curve_x, result.curves)
        for extra, values in (result.extra or {}).items():
            self.store.add(seed, name, explainer, f"{metric}-{extra}", idx, np.asarray(values, dtype=float))

    # -- artifacts ----------------------------------------------------------------------------------
    def _write_artifacts(self) -> None:
        self._write_failures()
        metrics_info = {}
        for label, metric in self.metrics.items():
            info = dict(name=metric.name, direction=metric.direction,
                        display_name=metric.display_name or metric.name, reference=metric.reference,
                        auc=getattr(metric, "auc", None), substrate=_substrate(metric),
                        description=metric.description, family=metric.family, needs_ia_vit=metric.needs_ia_vit)
            metrics_info[label] = info
            for extra, (direction, description) in metric.extras.items():  # own direction and description
                metrics_info[f"{label}-{extra}"] = dict(info, direction=direction, description=description,
                                                        display_name=f"{info['display_name']} ({extra})")
        _write_json(self.run_dir / "metrics.json", metrics_info)
        _write_json(self.run_dir / "explainers.json", {
            label: dict(name=cls.name, display_name=cls.display_name or cls.name, family=cls.family,
                        reference=cls.reference, baseline=cls.baseline, description=cls.description,
                        signed=cls.signed)
            for label, cls in self.explainer_classes.items()})
        _write_json(self.run_dir / "models.json", {
            variant.name: dict(kind=variant.kind, baseline=variant.baseline, grid=variant.grid,
                               description=variant.description, overrides=variant.overrides,
                               seeds={str(seed): self.trained[(seed, variant.name)].metrics for seed in variant.seeds})
            for variant in self.suite.models})
        self._write_training()
        self._write_heatmaps()

    def _write_failures(self) -> None:
        """Sort and de-duplicate failures.csv (a resumed run may have recorded a failure twice)."""
        path = self.run_dir / "failures.csv"
        if not path.exists():
            return
        frame = pd.read_csv(path).drop_duplicates(subset=["seed", "model", "explainer", "sample"])
        frame.sort_values(["seed", "model", "explainer", "sample"]).to_csv(path, index=False)

    def _write_training(self) -> None:
        rows = []
        for (seed, name), trained in sorted(self.trained.items()):
            for record in trained.history:
                rows.append(dict(seed=seed, model=name, **record))
        if rows:
            columns = ["seed", "model", "epoch", "step", "seconds", "loss", "ce", "kd", "align", "val_acc",
                       "val_inter_acc", "val_agreement"]
            frame = pd.DataFrame(rows)
            frame = frame[[c for c in columns if c in frame] + [c for c in frame if c not in columns]]
            frame.to_csv(self.run_dir / "training.csv", index=False)

    def _write_heatmaps(self) -> None:
        n = min(self.suite.heatmap_images, self.suite.batch_size, len(self.samples.indices))
        if n < 1 or not self.explainer_classes:
            return
        mean = torch.tensor(self.data.mean).view(1, -1, 1, 1)
        std = torch.tensor(self.data.std).view(1, -1, 1, 1)
        images = self.samples.images[:n]
        arrays: dict[str, np.ndarray] = {
            "images": (images * std + mean).clamp(0, 1).numpy().astype(np.float32),
            "labels": self.samples.labels[:n].numpy(),
        }
        stop = min(self.suite.batch_size, len(self.samples.indices))
        idx = self.samples.indices[:stop]
        kinds = {v.name: v.kind for v in self.suite.models}
        # plain ViTs and the IA-ViTs compared with them; ablations would make the grid unreadably tall
        shown = [v for v in self.suite.models if v.kind == "vit" or kinds.get(v.baseline) != "ia-vit"]
        for variant in shown:
            seed = variant.seeds[0]
            trained = self.trained[(seed, variant.name)]
            chunk = self.samples.images[:stop].to(self.device)
            targets = explained_targets(trained.model, chunk, self.samples.labels[:stop].to(self.device),
                                        self.suite.target)
            for label, cls in self.explainer_classes.items():
                if variant.kind != "ia-vit" and cls.requires_ia_vit:
                    continue
                saliency = self._explain(seed, variant.name, trained, label, chunk, targets, idx)
                arrays[f"{variant.name}__{label}"] = saliency[:n].float().cpu().numpy()
        np.savez_compressed(self.run_dir / "heatmaps.npz", **arrays)

    def _write_manifest(self) -> None:
        suite_dict = to_dict(self.suite)
        _write_json(self.run_dir / "manifest.json", dict(
            suite=self.suite.name, run_id=self.run_id, config_hash=self.config_hash, config=suite_dict,
            versions=_versions(), git_commit=_git_commit(), device=str(self.device),
            torch_threads=torch.get_num_threads(), timings={k: round(v, 2) for k, v in self.timings.items()},
            dataset=self.data.describe(), samples=len(self.samples.indices),
            models={f"{name}/seed{seed}": dict(checkpoint=str(t.checkpoint), cached=t.cached,
                                                train_seconds=round(t.seconds, 1), metrics=t.metrics)
                    for (seed, name), t in sorted(self.trained.items())},
            failures_this_session=self.failure_count,
        ))


def _substrate(metric: Any) -> str | None:
    """What a perturbation metric replaces removed pixels with (None for the others)."""
    from .metrics._perturbation import PerturbationCurve

    return str(metric.option("substrate", "zeros")) if isinstance(metric, PerturbationCurve) else None


def _write_json(path: Path, payload: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(tmp, path)


def run(name_or_path: str, overrides: list[str] | None = None, options: RunOptions | None = None) -> list[Path]:
    """Run a suite (or each suite it includes); returns the run directories."""
    options = options or RunOptions()
    suite = load_suite(name_or_path, overrides)
    if suite.include:
        suites = [load_suite(name, overrides) for name in suite.include]  # validate all before running any
        return [Run(s, options).execute() for s in suites]
    return [Run(suite, options).execute()]

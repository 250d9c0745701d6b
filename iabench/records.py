"""What a run records about its explainers and metrics (explainers.json, metrics.json): the fields the report reads,
in one place for the writer (``pipeline.artifacts``) and the reader (``reporting``), which never falls back on the
registered classes: a report is built from the run's files alone.

A run folder written before a field existed is refused in one line naming ``iabench refresh RUN_DIR``, which
completes its records once from the registries (``iabench.refresh``).
"""

from __future__ import annotations

from pathlib import Path

from .errors import UserError

# the fields every metrics.json / explainers.json entry of this version holds
METRIC_FIELDS = ("name", "direction", "display_name", "reference", "description", "family", "family_rank", "curve",
                 "curve_axes", "substrate", "unit", "auc", "samples", "explainers", "needs_ia_vit", "needs_saliency",
                 "needs_masks", "needs_explain_fn", "needs_decomposition")
EXPLAINER_FIELDS = ("name", "display_name", "family", "family_rank", "reference", "baseline", "description", "signed",
                    "decomposes_logit", "resolution", "control", "shuffles", "needs_ia_vit", "needs_target", "cost")


# each evaluated model's per-image correctness on the test split: arrays "<model>__seed<S>__index" (the images'
# indices in the split) and "<model>__seed<S>__correct" (1 = the predictor was right), uint8 / int64
CORRECTNESS_FILE = "test_correctness.npz"


def correctness_key(model: str, seed: int | str, part: str) -> str:
    """The array name of ``part`` ("index" or "correct") of ``model``'s seed ``seed`` in CORRECTNESS_FILE."""
    return f"{model}__seed{seed}__{part}"


def recorded(label: str, infos: dict, field: str, default: object) -> object:
    """``infos[label][field]``, or ``default`` when the run recorded nothing there (None or "")."""
    value = (infos.get(label) or {}).get(field)
    return default if value in (None, "") else value


def missing_fields(infos: dict, fields: tuple[str, ...]) -> list[str]:
    """The fields of ``fields`` that some entry of ``infos`` lacks (in the order of ``fields``)."""
    return [f for f in fields if any(f not in info for info in infos.values())]


def check_records(run_dir: Path, metrics: dict, explainers: dict) -> None:
    """Refuse, in one line naming the command that completes them, records written by an earlier iabench."""
    lacking = [f"metrics.json lacks {', '.join(m)}" for m in [missing_fields(metrics, METRIC_FIELDS)] if m]
    lacking += [f"explainers.json lacks {', '.join(e)}" for e in [missing_fields(explainers, EXPLAINER_FIELDS)] if e]
    if lacking:
        raise UserError(f"'{run_dir}' was written by an earlier iabench ({'; '.join(lacking)}); run `iabench refresh "
                        f"{run_dir}` once, then report it")

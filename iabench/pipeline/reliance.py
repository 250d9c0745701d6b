"""Reliance checks on planted evidence: does a trained model use the evidence its task plants, and only that?

A ground-truth score means something only for a model that relies on the evidence. A dataset that plants evidence
declares its checks (``DatasetPlugin.ground_truth``, see ``iabench.data.ground_truth``; those of
``evidence-fashion-mnist`` are in ``iabench.data.evidence_reliance``); this stage runs them on every trained model,
on the test images it was evaluated on, and writes reliance.csv (model, seed, check, value, required, passed,
images). A model that fails any check has no ground truth: the ground-truth analyses of the report leave it out.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from ..config import DataConfig
from ..data import DataBundle, dataset_class, dataset_options
from ..records import RELIANCE_FILE

log = logging.getLogger("iabench")


def write_reliance(run_dir: Path, trained: Mapping[tuple[int, str], Any], data: DataBundle, config: DataConfig,
                   device: torch.device) -> None:
    """reliance.csv for a run on a dataset with planted evidence (``config``'s; nothing for any other); one log line
    per model says whether it has ground truth."""
    truth = dataset_class(config.name).ground_truth
    if truth is None:
        return
    labelling, rows = truth.labelling(dataset_options(config)), []
    for (seed, name), model in sorted(trained.items()):
        index = model.test_index
        indices = index.tolist() if index is not None else list(range(len(data.test)))
        checks = truth.checks(model.model, data.test, indices, device)
        failed = [c.check for c in checks if not c.passed]
        log.info("%s/seed%s: %s", name, seed, f"no ground truth (failed: {'; '.join(failed)})" if failed else
                 f"relies on the {labelling} ({len(checks)} of {len(checks)} reliance checks passed)")
        rows += [dict(model=name, seed=seed, **dataclasses.asdict(c)) for c in checks]
    pd.DataFrame(rows).to_csv(run_dir / RELIANCE_FILE, index=False)

"""What a dataset with planted evidence declares (``DatasetPlugin.ground_truth``): the reliance checks its models must
pass before their ground-truth scores mean anything, and which labellings of the same images a model contrast pairs.

The pipeline runs the checks (``pipeline.reliance`` writes reliance.csv) and writes ``record(options)`` into the run
manifest's dataset entry (``ground_truth``); the report, which never imports the datasets, reads both from the run's
files. A second planted-evidence dataset is one file: its plugin with a ``GroundTruth`` of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset

from ..records import ContrastPairing


@dataclass(frozen=True)
class Check:
    """One reliance check of one model: its measured value, what it had to be, and whether it was."""

    check: str
    value: float
    required: str
    passed: bool
    images: int


class GroundTruth:
    """A dataset's planted-evidence protocol: ``checks`` and, when it has one, the ``contrast`` it pairs."""

    contrast: ContrastPairing | None = None

    def labelling(self, options: Any) -> str:
        """What the labels of a run with these dataset options are (e.g. the motif's class or the garment's)."""
        raise NotImplementedError

    def evidence_mask(self, options: Any) -> str:
        """The named mask the run's evidence is (what its ``evidence`` mask equals)."""
        raise NotImplementedError

    def checks(self, model: nn.Module, test: Dataset, indices: Sequence[int], device: torch.device) -> list[Check]:
        """The reliance checks of one model on the test images ``indices``."""
        raise NotImplementedError

    def record(self, options: Any) -> dict[str, Any]:
        """What the run's manifest records of the protocol for these options, for the report to read."""
        out: dict[str, Any] = {"labelling": self.labelling(options), "evidence_mask": self.evidence_mask(options)}
        if self.contrast is not None:
            out["contrast"] = asdict(self.contrast)
        return out


__all__ = ["Check", "ContrastPairing", "GroundTruth"]

"""The model contrast on planted evidence, written into the subject run's folder (contrast.csv, contrast.md) and its
report rebuilt: by ``iabench contrast SUBJECT OTHER``, and after the runs of a suite with ``contrast: true`` for
every pair among them (``reporting.ground_truth.pairs``); there also, for each run of straddling evidence and the
aligned run of its task, what the placement changes (placement.csv, placement.md)."""

from __future__ import annotations

import logging
from pathlib import Path

from .records import CONTRAST_FILE, PLACEMENT_FILE
from .reporting import build_report
from .reporting.ground_truth.contrast import contrast_markdown, model_contrast, recorded_pairing
from .reporting.ground_truth.pairs import contrast_pairs, placement_pairs
from .reporting.ground_truth.placement import placement_change, placement_markdown
from .reporting.run_files import RunFiles

log = logging.getLogger("iabench")


def write_contrast(subject: RunFiles, other: RunFiles, build: bool = True) -> str:
    """contrast.csv and contrast.md in the subject's folder, its report rebuilt when ``build``; returns the table's
    text."""
    contrast = model_contrast(subject, other)
    contrast.to_csv(subject.path / CONTRAST_FILE, index=False)
    text = contrast_markdown(contrast, recorded_pairing(subject))
    (subject.path / "contrast.md").write_text(f"# Model contrast: {subject.path} against {other.path}\n\n{text}\n")
    if build:
        build_report(subject.path)
    return text


def contrast_runs(run_dirs: list[Path], build: bool = True) -> list[Path]:
    """Write the model contrast of every pair among ``run_dirs`` (their reports rebuilt when ``build``); returns the
    subject folders written. No pair is one log line (e.g. runs of one labelling only)."""
    runs = [RunFiles.read(path) for path in run_dirs]
    pairs = contrast_pairs(runs)
    if not pairs:
        log.warning("contrast: no two of these runs pair (a run under each labelling, the same canvases): %s",
                    ", ".join(str(p) for p in run_dirs))
    for subject, other in pairs:
        write_contrast(subject, other, build)
        log.info("contrast: %s against %s -> %s", subject.path, other.path, subject.path / "contrast.md")
    for aligned, straddling in placement_pairs(runs):
        write_placement(aligned, straddling, build)
        log.info("placement: %s against %s -> %s", straddling.path, aligned.path, straddling.path / "placement.md")
    return [subject.path for subject, _ in pairs]


def write_placement(aligned: RunFiles, straddling: RunFiles, build: bool = True) -> str:
    """placement.csv and placement.md in the straddling run's folder (its report rebuilt when ``build``); returns
    the markdown."""
    settings = straddling.verdict_settings
    table = placement_change(aligned, straddling, settings.delta, settings.alpha)
    table.to_csv(straddling.path / PLACEMENT_FILE, index=False)
    text = placement_markdown(table)
    (straddling.path / "placement.md").write_text(f"# Placement: {straddling.path} (straddling) against "
                                                  f"{aligned.path} (aligned)\n\n{text}\n")
    if build:
        build_report(straddling.path)
    return text

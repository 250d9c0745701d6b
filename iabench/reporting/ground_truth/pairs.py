"""Which runs pair, for a suite with ``contrast: true`` after its included suites ran: for the model contrast
(``contrast.checked_pair``), each subject run with the first other run whose canvases are the same (the ``evidence``
suite's motif and garment runs; one pair per placement in ``evidence-study``); for the placement change
(``placement``), each run of straddling evidence with the run of aligned evidence of the same task."""

from __future__ import annotations

from ...errors import UserError
from ..run_files import RunFiles
from .contrast import checked_pair, recorded_pairing


def contrast_pairs(runs: list[RunFiles]) -> list[tuple[RunFiles, RunFiles]]:
    """(subject, other) for each subject run and the first not yet paired other run that ``checked_pair``
    accepts with it (same dataset, same canvases), in the order given."""
    pairs, used = [], set()
    for subject in runs:
        pairing = recorded_pairing(subject)
        labelling = ((subject.manifest.get("dataset") or {}).get("ground_truth") or {}).get("labelling")
        if pairing is None or labelling != pairing.subject:
            continue
        for k, other in enumerate(runs):
            if k in used or other is subject:
                continue
            try:
                checked_pair(subject, other)
            except UserError:
                continue
            pairs.append((subject, other))
            used.add(k)
            break
    return pairs


PLACEMENT = "placement"  # the planted-evidence option that aligns the evidence with the patch grid or not
ALIGNED, STRADDLING = "cell", "anywhere"


def placement_pairs(runs: list[RunFiles]) -> list[tuple[RunFiles, RunFiles]]:
    """(aligned, straddling) for each run under placement anywhere and the first run of the same dataset, labelling
    and other options under placement cell, in the order given."""
    def side(run: RunFiles) -> tuple[str, str, str, tuple] | None:
        dataset = run.manifest.get("dataset") or {}
        options = dict(dataset.get("options") or {})
        if PLACEMENT not in options or recorded_pairing(run) is None:
            return None
        placement = str(options.pop(PLACEMENT))
        labelling = str((dataset.get("ground_truth") or {}).get("labelling"))
        return placement, str(dataset.get("name")), labelling, tuple(sorted(options.items()))

    sides = [side(run) for run in runs]
    pairs = []
    for straddling, after in zip(runs, sides):
        if after is None or after[0] != STRADDLING:
            continue
        match = next((run for run, before in zip(runs, sides) if before is not None and before[0] == ALIGNED
                      and before[1:] == after[1:]), None)
        if match is not None:
            pairs.append((match, straddling))
    return pairs

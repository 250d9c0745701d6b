"""Which runs pair for the model contrast (``contrast.checked_pair``): for a suite with ``contrast: true``, after
its included suites ran, each subject run with the first other run whose canvases are the same (the ``evidence``
suite's motif and garment runs; one pair per placement in ``evidence-study``)."""

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

"""The report's reliance section: each model's reliance checks on planted evidence (``reliance.csv``, written by
``iabench.pipeline.reliance``, read by ``RunFiles``), one row per model, seed and check, and which models have no
ground truth."""

from __future__ import annotations

import pandas as pd


def without_ground_truth(checks: pd.DataFrame | None) -> set[tuple[str, int]] | None:
    """The (model, seed) pairs that failed a reliance check (``checks``: reliance.csv's rows): no ground-truth
    analysis may use them; None for a run without planted evidence (no reliance.csv)."""
    if checks is None:
        return None
    failed = checks[~checks.passed.astype(bool)]
    return {(str(model), int(seed)) for model, seed in zip(failed.model, failed.seed)}


def with_ground_truth(results: pd.DataFrame, excluded: set[tuple[str, int]] | None) -> pd.DataFrame:
    """The rows of ``results`` whose (model, seed) is not in ``excluded`` (see ``without_ground_truth``)."""
    if not excluded:
        return results
    return results[[(m, int(s)) not in excluded for m, s in zip(results.model, results.seed)]]


def reliance_markdown(checks: pd.DataFrame | None) -> str:
    """The reliance checks (reliance.csv's rows) as a markdown table and a line naming the models without ground
    truth; "" when the run wrote none (data without planted evidence)."""
    if checks is None:
        return ""
    lines = ["| model | seed | check | value | required | passed | images |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {r.model} | {r.seed} | {r.check} | {r.value:.4f} | {r.required} | {'yes' if r.passed else '**no**'} "
              f"| {r.images:,} |" for r in checks.itertuples()]
    failed = checks[~checks.passed.astype(bool)].groupby(["model", "seed"]).check.apply(list)
    total = checks.groupby(["model", "seed"]).ngroups
    if failed.empty:
        verdict = f"Every model passes every check ({total} of {total}): each has ground truth."
    else:
        names = "; ".join(f"{model}/seed{seed} ({', '.join(c)})" for (model, seed), c in failed.items())
        verdict = (f"{total - len(failed)} of {total} models pass every check. No ground truth for {names}: their "
                   "ground-truth scores say nothing about what they use, and every table leaves them out.")
    return "\n".join(lines) + "\n\n" + verdict

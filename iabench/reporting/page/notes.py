"""The report's fixed text: one line under each section saying how to read it, and the figures' captions."""

from __future__ import annotations

from pathlib import Path

from ...records import MetricRecords

SECTION_NOTES = {
    "verdict": "The IA-ViT paper's claims, each answered from this run's scores: holds, does not hold or "
               "inconclusive, one sentence each; the folded table lists every comparison behind them.",
    "summary": "Each cell: mean [95% bootstrap confidence interval of the mean over images (and seeds)]. Best per "
               "column in **bold**, by the column's arrow (↑ higher is better, ↓ lower); a curve metric's header "
               "names its substrate and unit (pixel: pixels moved per step, patch: whole patches), map the "
               "explainer's own resolution; controls (random, random-patch, ...) below the rule; click a header "
               "to sort.",
    "metrics": "What each metric measures, which way is better (↑/↓), and where it is defined.",
    "controls": "Each explainer's score minus that of the random control at its own resolution (random for pixel "
                "maps, random-patch for patch maps), same model and metric; > 0 = better than its control. In "
                "brackets, for patch maps: against pixel noise, the comparison pixel-unit deletion biases (removing "
                "scattered pixels damages every patch token at once).",
    "reliance": "Planted evidence: each model checked by intervention before its maps are scored against the "
                "evidence (reliance.csv), each edit of the evidence beside the same edit of a decoy, paired by image. "
                "A motif model must be accurate, follow a swapped motif and barely notice a swapped decoy (chance "
                "without the motif checks the data); a garment model must clear the accuracy floor, and a swapped or "
                "erased motif may move it no more than a swapped or erased decoy. A model that fails a check has no "
                "ground truth.",
    "truth": "First, whether each ground truth separates the explainers (controls aside) beyond its images' and "
             "seeds' noise (separation.csv): the shares of its variance and an F test. Then each perturbation "
             "protocol's ranking of the explainers against their ranking by the ground truth of the same unit "
             "(evidence mass, evidence ROC AUC) on the same images: Kendall τ per training seed, averaged, with a "
             "bootstrap interval over seeds and images and a permutation p (agrees: p after Holm below α, against a "
             "truth that separates; truth.csv). Unreliable: the ground truth itself (evidence-oracle) scores worse "
             "than an explainer under that protocol, beyond δ times the metric's span and the gap's interval.",
    "contrast": "The same canvases explained for the model that reads the motif and for the one that reads the "
                "garment (iabench contrast): evidence mass on the motif under the first minus under the second; a map "
                "that shows what its model uses has a contrast > 0, one that ignores the model 0 (contrast.csv).",
    "placement": "This run's canvases put each motif anywhere (straddling up to 4 patches); the same task's run "
                 "under placement cell puts it inside one patch. Each explainer's ground-truth scores aligned -> "
                 "straddling, and how much more patch maps change than pixel maps (per seed, tested over seeds with "
                 "3 or more; placement.csv).",
    "units": "The same metric and substrate moving pixels vs whole patches: each explainer's mean and its rank "
             "within the model under each unit (map: the explainer's own resolution).",
    "significance": "Is a method's difference from IA-ViT's interpreter more than image-to-image noise? "
                    "*significant* = Holm-corrected p < 0.05.",
    "trust": "Would the ranking repeat on other images, another substrate, other seeds? One line per model and "
             "metric, written by rules.",
    "explainers": "The explainers of this run, with their family and whether their maps are signed "
                  "(negative values mean evidence against the class).",
    "curves": "Mean curve with its 95% band, one panel per model (rows) and explainer family (columns); "
              "controls dashed in every panel. Each explainer keeps its colour and line style in every figure.",
    "bars": "Mean score per explainer and model with its 95% bootstrap CI (summary.csv).",
    "heatmaps": "The image, then each explainer's map on its own.",
    "training": "Training loss terms and validation accuracy per epoch; each model shows only the terms its "
                "objective has.",
}
SIGNIFICANCE_NOTE = ("Each (model, explainer) against IA-ViT's interpreter (ia-vit/ia-vit), paired by (seed, sample): "
                     "mean_diff = mean of method - reference [95% t-interval], p_value = t-test of that mean. unit "
                     "seed (>= 3 common seeds): the per-seed mean differences, n = seeds; unit image (fewer seeds): "
                     "the (seed, sample) pairs, n = pairs, blind to training variance. p_holm: Holm-corrected within "
                     "the family column (one metric's comparisons; the verdict groups by claim instead, so its "
                     "adjusted p-values differ); better = the side the metric's direction favours by mean_diff; "
                     "significant = p_holm < 0.05. Identical scores give p = 1.")
SUMMARY_NOTE = ("Cells are from summary.csv (LaTeX: summary.tex). With >= 2 seeds, '· seeds [low, high]' is the 95% "
                "Student-t interval across the per-seed means (df = seeds - 1): the uncertainty due to training. "
                "'n/a: IA-ViT only' marks a metric that needs IA-ViT's interpreter, 'failed (k of n)' a score whose "
                "every explanation failed.")
HEATMAP_NOTE = ("Signed maps (their explainers can give negative relevance) use a diverging colormap centred at 0, "
                "each map divided by its largest absolute value (blue negative, red positive); unsigned maps a "
                "sequential colormap from 0, each divided by its maximum. One colour bar per kind.")


def figure_caption(path: Path, metrics_info: MetricRecords) -> str:
    """The caption of one figure file, from its name; a curve's from its metric's registered description."""
    stem = path.stem
    if stem.startswith("curves_"):
        metric = stem.removeprefix("curves_")
        record = metrics_info.of(metric)
        arrow = "lower" if record.lower_is_better else "higher"
        description = record.description
        return f"{metric}: {description or 'curves'}; a {arrow} curve is better."
    if stem.startswith("heatmaps_"):
        return f"Model {stem.removeprefix('heatmaps_')}. {HEATMAP_NOTE}"
    if stem == "auc_bars":
        return "Each panel's title says which way is better; error bars are 95% bootstrap CIs."
    if stem == "truth":
        return ("Each protocol's Kendall τ with the ground truth's ranking of the explainers, per model; bars: 95% "
                "bootstrap over training seeds; names in red: the ground truth scores worse than an explainer there.")
    if stem == "training":
        return "Per model: loss terms (left) and validation accuracy / agreement (right); mean over seeds."
    return ""

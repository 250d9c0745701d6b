"""What an explainer or metric needs from a run, in one vocabulary for both kinds."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Needs:
    """Declared once per class (``needs = Needs(...)``); the run plans from it, metrics.json records it."""

    ia_vit: bool = False  # runs on IA-ViTs only (the interpreter's map, its agreement)
    vit: bool = False  # explainer: reads a ViT's tokens or attention (none on a CNN's or a Swin's feature map)
    target: bool = False  # explainer: its map depends on the explained class (else no forward predicts one)
    saliency: bool = False  # metric: scores an explainer's maps (else a model-level metric, e.g. accuracy)
    masks: bool = False  # ground-truth masks: a metric scores against them, an explainer reads them (an oracle)
    explain_fn: bool = False  # metric: explains again (sanity, robustness) or asks the explainer (conservation)
    decomposition: bool = False  # metric: scores only maps that decompose the target logit (Explainer.decomposes_logit)

    def applies_to(self, kind: str) -> bool:
        """Whether what declares these needs runs on a model of ``kind``: one that needs an IA-ViT on IA-ViTs only,
        one that reads a ViT's tokens (``vit``) not on a feature-map model (a CNN or a Swin)."""
        if kind == "feature-map":
            return not self.ia_vit and not self.vit
        return kind == "ia-vit" or not self.ia_vit

"""Conservation gap: how much of the target logit a relevance map does not account for.

Definition: per image, with f the target logit and R the map,

    score = |f - sum_x R(x)| / |f|,

0 for a conservative map (LRP's conservation property, Bach et al. 2015, Eq. 2). For an explainer that
names its reference logit (``reference_logit``: integrated gradients' f(x'), the baseline's) f is the change
f(x) - f(x'), so the score is the completeness error of Sundararajan et al. 2017 (Prop. 1). Lower is
better. Meaningful for maps that decompose the logit (``Explainer.decomposes_logit``: lrp, attnlrp, the
naive Captum LRP, integrated gradients, input x gradient); in a run, other explainers are not scored. An image
whose target logit is 0 scores NaN.

When the explainer reports its own relevance budget (``relevance_budget``, as AttnLRP does), its totals
give f, and the extra value ``softmax`` is |relevance its softmax rules absorbed| / |f| (AttnLRP, Achtibat
et al. 2024, ICML, Prop. 3.1; the absorbed relevance may have either sign), so a reader sees where the
missing relevance went. The gap itself is always measured on the map that was scored.
"""

from __future__ import annotations

import warnings

import torch

from iabench.contract import Context, Needs
from iabench.metrics._base import METRICS, Metric, MetricResult
from iabench.metrics._checks import check_map


@METRICS.register
class ConservationGap(Metric):
    __doc__ = __doc__
    name = "conservation"
    display_name = "Conservation gap"
    direction = "lower"
    description = ("|f - sum of the map| ÷ |f|, f the target logit (for integrated gradients its change from the "
                   "baseline); 0 = conservative")
    family = "diagnostics"
    reference = "Bach et al. 2015, On Pixel-Wise Explanations by Layer-Wise Relevance Propagation, PLoS ONE, Eq. 2"
    extras = {"softmax": ("lower", "|relevance absorbed by the softmax rules| ÷ |target logit| (AttnLRP only; "
                                   "Achtibat et al. 2024, Prop. 3.1)")}
    # the explainer is asked for its own budget when it keeps one; in a run, only explainers whose maps decompose
    # the logit are scored
    needs = Needs(saliency=True, explain_fn=True, decomposition=True)

    def score(self, ctx: Context) -> MetricResult:
        model, images, targets, saliency = ctx.model, ctx.images, ctx.targets, ctx.saliency
        check_map(images, saliency, self.name)
        if ctx.explainer is None:  # without it, integrated gradients' gap would be taken against f(x), not the change
            raise ValueError(f"{self.name} needs the explainer (explain_fn= or explainer=): its relevance budget or "
                             "reference logit decides which logit the map must sum to")
        budget = ctx.explainer.relevance_budget(model, images, targets)
        extra = {}
        total = saliency.detach().double().flatten(1).sum(1)  # the scored map's own sum
        if budget is not None:  # its logit and what its softmaxes absorbed, from one more relevance pass
            logit = budget["logit"].double()
            extra["softmax"] = (budget["absorbed"].double().abs() / logit.abs()).cpu().numpy()
        else:
            with torch.no_grad():
                logit = model(images).gather(1, targets.long()[:, None]).flatten().double()
            reference = ctx.explainer.reference_logit(model, images, targets)
            if reference is not None:  # integrated gradients: the change from the baseline's logit
                logit = logit - reference.double()
        total = total.to(logit.device)
        gap = (logit - total).abs() / logit.abs()
        zero = logit == 0
        if zero.any():
            warnings.warn(f"{self.name}: the target logit is 0 for sample(s) {zero.nonzero().flatten().tolist()}; "
                          "their score is NaN", RuntimeWarning, stacklevel=2)
        scores = torch.where(zero, torch.full_like(gap, float("nan")), gap)
        return MetricResult(scores=scores.cpu().numpy(), extra=extra)

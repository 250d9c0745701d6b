"""Agreement: how well IA-ViT's interpreter simulates its predictor (Qiang et al. 2023, Sec. 4.2, the
"interpreter accuracy" beside the predictor's). Per sample: 1 when the interpreter's top-1 class equals
the predictor's (score; higher is better), plus ``kl`` = KL(predictor || interpreter) of their softmax
outputs (lower is better, reported as metric ``agreement-kl``) and ``inter-accuracy``, the interpreter's
own top-1 correctness against the true labels."""

from __future__ import annotations

import torch

from iabench.contract import Context, Needs
from iabench.metrics._base import METRICS, Metric, MetricResult


@METRICS.register
class Agreement(Metric):
    __doc__ = __doc__
    name = "agreement"
    display_name = "Interpreter-predictor agreement"
    direction = "higher"
    description = "1 when IA-ViT's interpreter predicts the same top-1 class as its predictor"
    family = "agreement"
    reference = "Qiang et al. 2023, Interpretability-Aware Vision Transformer, arXiv 2309.08035, Sec. 4.2"
    needs = Needs(ia_vit=True)  # model-level, IA-ViT's interpreter
    # stored as metrics agreement-kl and agreement-inter-accuracy, each with its own direction and description
    extras = {"kl": ("lower", "KL(predictor || interpreter) of the two softmax outputs"),
              "inter-accuracy": ("higher", "top-1 accuracy of IA-ViT's interpreter itself, against the true labels")}

    @torch.inference_mode()
    def score(self, ctx: Context) -> MetricResult:
        model, images, targets = ctx.model, ctx.images, ctx.targets
        if not hasattr(model, "interpreter"):
            raise TypeError("agreement needs an IA-ViT model")
        was_training = model.training
        model.eval()
        try:
            out = model.forward_all(images, attention=False)
        finally:
            model.train(was_training)
        log_p, log_q = out.logits.float().log_softmax(1), out.inter_logits.float().log_softmax(1)
        kl = (log_p.exp() * (log_p - log_q)).sum(1)
        agree = (out.logits.argmax(1) == out.inter_logits.argmax(1)).double()
        inter_correct = (out.inter_logits.argmax(1) == targets.to(images.device)).double()
        return MetricResult(agree.cpu().numpy(), extra={"kl": kl.double().cpu().numpy(),
                                                        "inter-accuracy": inter_correct.cpu().numpy()})

"""The IA-ViT objective's terms."""

from __future__ import annotations

import torch

from iabench.training.losses import (
    encoder_attention_summary,
    interpreter_attention_summary,
    kd_loss,
    mmd2,
    notebook_alignment,
)


def test_kd_zero_when_logits_match_and_positive_otherwise() -> None:
    logits = torch.randn(8, 10)
    assert kd_loss(logits, logits.clone()).abs() < 1e-6
    assert kd_loss(torch.randn(8, 10), logits) > 0.01


def test_kd_gradient_reaches_teacher_unless_detached() -> None:
    student, teacher = torch.randn(4, 10, requires_grad=True), torch.randn(4, 10, requires_grad=True)
    kd_loss(student, teacher).backward()
    assert teacher.grad is not None and teacher.grad.abs().sum() > 0
    teacher.grad = None
    kd_loss(student, teacher, detach_teacher=True).backward()
    assert teacher.grad is None


def test_kd_matches_hinton_formula() -> None:
    s, t, temp = torch.randn(5, 7), torch.randn(5, 7), 3.0
    p = torch.softmax(t / temp, 1)
    expected = (p * (p.log() - torch.log_softmax(s / temp, 1))).sum(1).mean() * temp**2
    torch.testing.assert_close(kd_loss(s, t, temp), expected)


def test_mmd_zero_for_identical_sets_and_grows_with_distance() -> None:
    x = torch.rand(16, 49)
    assert mmd2(x, x.clone()).abs() < 1e-6
    values = [mmd2(x, x + shift).item() for shift in (0.05, 0.2, 0.5)]
    assert 0 < values[0] < values[1] < values[2]


def test_notebook_alignment_rewards_separation() -> None:
    # The official code's term falls as the sets move apart: minimising it separates them.
    x = torch.rand(16, 49)
    assert notebook_alignment(x, x + 0.5) < notebook_alignment(x, x + 0.05)


def test_attention_summaries() -> None:
    attn = [torch.softmax(torch.randn(2, 3, 5, 5), -1) for _ in range(4)]
    summary = encoder_attention_summary(attn, num_prefix_tokens=1)
    expected = sum(a.mean(1)[:, 1:, 1:] for a in attn).mean(1)
    torch.testing.assert_close(summary, expected)
    assert summary.shape == (2, 4)
    inter = torch.softmax(torch.randn(2, 4, 4), -1)
    torch.testing.assert_close(interpreter_attention_summary(inter).sum(1), torch.ones(2))


def test_mmd_and_notebook_term_on_a_hand_computed_case() -> None:
    # x = {0, 2}, y = {1, 1}: mean squared distance over the joint set = 16 / 16 = 1 = the bandwidth, so
    # k(x, x) = (2 + 2 e^-4) / 4, k(y, y) = 1, k(x, y) = e^-1 (Gretton et al. 2012, biased MMD^2).
    import math

    x, y = torch.tensor([[0.0], [2.0]]), torch.tensor([[1.0], [1.0]])
    expected = (2 + 2 * math.exp(-4)) / 4 + 1 - 2 * math.exp(-1)
    torch.testing.assert_close(mmd2(x, y), torch.tensor(expected))
    torch.testing.assert_close(notebook_alignment(x, y), torch.tensor(math.exp(-1)))
    torch.testing.assert_close(mmd2(x, y), mmd2(y, x))  # symmetric


def test_mmd_sends_gradients_to_both_sides_and_a_step_aligns_them() -> None:
    x = torch.rand(8, 49, requires_grad=True)
    y = (torch.rand(8, 49) + 0.3).requires_grad_()
    loss = mmd2(x, y)
    loss.backward()
    assert x.grad.abs().sum() > 0 and y.grad.abs().sum() > 0  # encoder and interpreter both pulled
    with torch.no_grad():
        after = mmd2(x - 0.5 * x.grad, y - 0.5 * y.grad)
    assert after < loss  # minimising MMD^2 brings the two sets together (the notebook term does the opposite)


def test_objective_combines_the_terms_with_their_weights() -> None:
    import dataclasses

    import torch.nn.functional as F

    from iabench.config import TrainConfig
    from iabench.models import ModelOutput
    from iabench.training.losses import objective

    torch.manual_seed(1)
    attn = [torch.softmax(torch.randn(4, 2, 5, 5), -1) for _ in range(3)]
    output = ModelOutput(logits=torch.randn(4, 6), inter_logits=torch.randn(4, 6), encoder_attn=attn,
                         inter_attn=torch.softmax(torch.randn(4, 4, 4), -1))
    labels = torch.tensor([0, 1, 2, 3])
    config = dataclasses.replace(TrainConfig(), lambda_sim=0.5, lambda_align=2.0, temperature=2.0)
    ce = F.cross_entropy(output.logits, labels)
    kd = kd_loss(output.inter_logits, output.logits, 2.0)
    summed = encoder_attention_summary(attn, 1, "sum")
    align = mmd2(summed / len(attn), interpreter_attention_summary(output.inter_attn))  # the default: mean of 3 layers
    loss, terms = objective("ia-vit", output, labels, config)
    torch.testing.assert_close(loss, ce + 0.5 * kd + 2.0 * align)
    torch.testing.assert_close(terms["kd"], kd.item())
    torch.testing.assert_close(terms["align"], align.item())
    as_official = mmd2(summed, interpreter_attention_summary(output.inter_attn))
    loss_sum, _ = objective("ia-vit", output, labels, dataclasses.replace(config, encoder_summary="sum"))
    torch.testing.assert_close(loss_sum, ce + 0.5 * kd + 2.0 * as_official)
    plain, plain_terms = objective("vit", output, labels, config)  # a plain ViT: cross-entropy only
    torch.testing.assert_close(plain, ce)
    assert set(plain_terms) == {"ce", "loss"}
    notebook = dataclasses.replace(config, align="notebook", sim="none")
    loss, _ = objective("ia-vit", output, labels, notebook)
    expected = ce + 2.0 * notebook_alignment(summed / len(attn), interpreter_attention_summary(output.inter_attn))
    torch.testing.assert_close(loss, expected)


def test_defaults_are_the_official_codes_on_a_hand_computed_case() -> None:
    """Called with their defaults, as the trainer's helpers may be: KD at temperature 3 (official code),
    one prefix token (CLS) dropped from the encoder's attention, the interpreter's mean over query rows."""
    import math

    # KD, two classes: teacher logits (0, 3 ln 3) -> softmax at T = 3 is (1/4, 3/4); student (0, 0) -> (1/2, 1/2)
    teacher, student = torch.tensor([[0.0, 3 * math.log(3)]]), torch.zeros(1, 2)
    kl = 0.25 * math.log(0.25 / 0.5) + 0.75 * math.log(0.75 / 0.5)
    torch.testing.assert_close(kd_loss(student, teacher), torch.tensor(9 * kl))
    # one block, one head, tokens (CLS, p1, p2): the patch block [[a, b], [c, d]] averaged over its 2 query rows
    attn = torch.tensor([[[[0.2, 0.3, 0.5], [0.1, 0.6, 0.3], [0.4, 0.1, 0.5]]]])
    torch.testing.assert_close(encoder_attention_summary([attn]), torch.tensor([[0.35, 0.4]]))
    # interpreter (B=1, P=2): queries are rows; the explanation is the mean attention each key receives
    inter = torch.tensor([[[0.9, 0.1], [0.5, 0.5]]])
    torch.testing.assert_close(interpreter_attention_summary(inter), torch.tensor([[0.7, 0.3]]))


def test_mmd_bandwidth_below_one_and_the_identical_point_case() -> None:
    """x = {0, 0.2}, y = {0.1, 0.1}: the mean squared distance (bandwidth) is 0.01, k(x, x) = (2 + 2 e^-4) / 4,
    k(y, y) = 1, k(x, y) = e^-1: the same value as the unit-scale case (MMD with this bandwidth is scale-free).
    All points equal: bandwidth 0 is clamped, MMD^2 = 0, not NaN."""
    import math

    x, y = torch.tensor([[0.0], [0.2]]), torch.tensor([[0.1], [0.1]])
    expected = (2 + 2 * math.exp(-4)) / 4 + 1 - 2 * math.exp(-1)
    torch.testing.assert_close(mmd2(x, y), torch.tensor(expected))
    same = torch.full((3, 4), 0.25)
    assert mmd2(same, same.clone()).item() == 0.0
    assert notebook_alignment(same, same.clone()).item() == 1.0


def test_the_mean_over_layers_is_the_sum_divided_by_the_depth() -> None:
    attn = [torch.softmax(torch.randn(2, 3, 5, 5), -1) for _ in range(4)]
    torch.testing.assert_close(encoder_attention_summary(attn, 1, "mean"), encoder_attention_summary(attn, 1) / 4)
    # one block of a hand-set attention: the mean over one layer is that layer's summary (0.35, 0.4)
    one = torch.tensor([[[[0.2, 0.3, 0.5], [0.1, 0.6, 0.3], [0.4, 0.1, 0.5]]]])
    torch.testing.assert_close(encoder_attention_summary([one, one], over_layers="mean"), torch.tensor([[0.35, 0.4]]))


def test_under_mean_the_encoders_summary_totals_what_the_interpreters_does(tiny_config) -> None:
    """On a fresh IA-ViT (the CPU default's shape, 4 blocks): the interpreter's summary totals 1 per image; the
    encoder's totals about the depth summed over layers, within 5 % of 1 averaged over them."""
    from iabench.models import create_model

    torch.manual_seed(0)
    model = create_model("ia-vit", tiny_config).eval()
    with torch.no_grad():
        out = model.forward_all(torch.randn(8, 1, 28, 28), attention=True)
    inter = interpreter_attention_summary(out.inter_attn).sum(1)
    mean = encoder_attention_summary(out.encoder_attn, 1, "mean").sum(1)
    summed = encoder_attention_summary(out.encoder_attn, 1, "sum").sum(1)
    torch.testing.assert_close(inter, torch.ones(8))
    assert ((mean - inter).abs() / inter).max() < 0.05
    assert ((summed - 4 * inter).abs() / (4 * inter)).max() < 0.05  # about the depth: the scale that collapsed


def test_the_summary_setting_is_checked_and_sum_keeps_the_cache_keys(tmp_path) -> None:
    import dataclasses

    import pytest

    from iabench.config import DataConfig, ModelConfig, TrainConfig, config_hash
    from iabench.errors import UserError
    from iabench.training import checkpoint_path
    from iabench.typed import from_dict

    assert TrainConfig().encoder_summary == "mean"  # the default: see docs/models-and-training.md
    summed = dataclasses.replace(TrainConfig(), encoder_summary="sum")
    as_before = {k: v for k, v in dataclasses.asdict(summed).items() if k not in TrainConfig.HASH_NEUTRAL}
    assert config_hash(summed) == config_hash(as_before)  # sum: the IA-ViTs trained before the field keep their keys
    assert config_hash(TrainConfig()) != config_hash(summed)
    model, data = ModelConfig(), DataConfig()
    # a plain ViT's weights do not depend on the IA-ViT's alignment: its key is the same under both settings
    assert checkpoint_path(tmp_path, "vit", model, TrainConfig(), data) == checkpoint_path(tmp_path, "vit", model,
                                                                                          summed, data)
    assert checkpoint_path(tmp_path, "ia-vit", model, TrainConfig(), data) != checkpoint_path(tmp_path, "ia-vit",
                                                                                             model, summed, data)
    with pytest.raises(UserError, match="train.encoder_summary must be one of sum, mean, got 'median'"):
        from_dict(TrainConfig, {"encoder_summary": "median"}, "train")
    with pytest.raises(ValueError, match="over_layers must be one of"):
        encoder_attention_summary([torch.ones(1, 1, 2, 2)], over_layers="median")

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

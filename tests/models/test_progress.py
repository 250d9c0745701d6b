"""Training progress lines: how often, and what they say (hand-computed times on a fake clock)."""

from __future__ import annotations

from iabench.training.progress import TrainingProgress, clock, finished_line


def test_clock_formats_minutes_and_hours() -> None:
    assert [clock(s) for s in (0, 59.6, 75, 3700)] == ["0:00", "1:00", "1:15", "1:01:40"]


def test_a_line_every_interval_and_at_the_last_step_with_the_time_left() -> None:
    now = [100.0]
    lines: list[str] = []
    progress = TrainingProgress("vit/seed0", total_steps=10, epochs=2, emit=lines.append, every=5.0,
                                clock_fn=lambda: now[0])
    for step in range(1, 11):
        now[0] += 2.0  # 2 s per step
        progress.step(step, 1 + (step - 1) // 5, loss=1.0 / step)
    # 5 s passed first after step 3 (6 s), then step 6 (12 s: 6 s after the last line), step 9; and step 10, the last
    assert lines == [
        "vit/seed0: step 3/10 (epoch 1/2), loss 0.3333, 0:06 elapsed, ~0:14 left",
        "vit/seed0: step 6/10 (epoch 2/2), loss 0.1667, 0:12 elapsed, ~0:08 left",
        "vit/seed0: step 9/10 (epoch 2/2), loss 0.1111, 0:18 elapsed, ~0:02 left",
        "vit/seed0: step 10/10 (epoch 2/2), loss 0.1000, 0:20 elapsed, ~0:00 left",
    ]


def test_the_last_line_names_the_accuracies() -> None:
    vit = finished_line("vit/seed0", {"test_acc": 0.8512}, 151.6)
    assert vit == "vit/seed0: trained in 152 s, test accuracy 85.12 %"
    ia = finished_line("ia-vit/seed0", {"test_acc": 0.84, "test_inter_acc": 0.835, "test_agreement": 0.9661}, 9)
    assert ia == "ia-vit/seed0: trained in 9 s, test accuracy 84.00 %, interpreter 83.50 %, agreement 96.61 %"

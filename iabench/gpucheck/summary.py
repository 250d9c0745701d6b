"""The check's short text summary, from its JSON record alone."""

from __future__ import annotations


def summary_lines(report: dict) -> list[str]:
    m, t, c = report["machine"], report["training"], report["curves"]
    where = m.get("gpu", "CPU") + (f", CUDA {m['cuda']}" if "cuda" in m else "")
    lines = [f"iabench GPU check, {m['date']}: {where}, torch {m['torch']}, {report['image_size']} px"
             f"{' (tiny)' if report['tiny'] else ''}, {report['seconds']:.0f} s",
             f"training: ViT {t['vit']['ms_per_step']:.1f} ms/step, IA-ViT {t['ia-vit']['ms_per_step']:.1f} ms/step "
             f"({t['ia_vit_step_over_vit_step']:.2f}x), {t['ia-vit']['steps']} steps each; test accuracy ViT "
             f"{t['vit']['test_accuracy']:.3f}, IA-ViT {t['ia-vit']['test_accuracy']:.3f}",
             "explainer                 ms/image  peak MiB  agreement with the CPU"]
    for name, e in report["explainers"].items():
        if "error" in e:
            lines.append(f"  {name:<23} FAILED: {e['error']}")
            continue
        peak = "-" if e["peak_memory_mib"] is None else f"{e['peak_memory_mib']:.0f}"
        lines.append(f"  {name:<23} {e['ms_per_image']:8.1f}  {peak:>8}  {e['measure']} {e['value']:.2e} "
                     f"(bound {e['bound']:g}) {'ok' if e['ok'] else 'FAILED'}")
    for name, s in report["scores"].items():
        lines.append(f"{name}: largest drift of the scores under autocast from float32 "
                     f"{s['max_drift_from_float32']:.2e} "
                     f"(bound {s['bound']:g}) {'ok' if s['ok'] else 'FAILED'}")
    verdict = "ok" if c["ok"] else "FAILED"
    lines.append(f"curves: {c['images']} images x {c['forwards_per_image']} forwards, equal to Quantus' to "
                 f"{c['max_curve_difference']:.1e} ({verdict}); iabench {c['iabench_seconds']:.3f} s, "
                 f"quantus.PixelFlipping {c['quantus_seconds']:.3f} s: {c['speedup_over_quantus']:.2f}x "
                 "(goal on a GPU >= 3x)")
    lines.append("all checks passed" if report["ok"] else "SOME CHECKS FAILED (see above)")
    return lines

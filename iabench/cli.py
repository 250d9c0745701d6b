"""The command line: ``iabench run | train | list | report`` (also ``python -m iabench``).

Bad input is one line on stderr saying what was wrong and how to fix it, exit code 2, no traceback
(``--debug`` shows it). Earlier results are never touched by a failed command.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from pathlib import Path

from . import __version__
from .commands import cmd_contrast, cmd_list, cmd_merge, cmd_refresh, cmd_report, cmd_run, cmd_train
from .errors import UserError

log = logging.getLogger("iabench")

EXAMPLES = """examples:
  python -m iabench run --suite faithfulness          the main job (CPU default: Fashion-MNIST, tiny ViT)
  python -m iabench run --suite faithfulness --samples 50 --set train.epochs=2
  python -m iabench run --suite paper --device cuda --data-root ~/data/cifar10 --pretrained hub
  torchrun --nproc_per_node 4 -m iabench train --preset vit-b16 --data-root ~/data/cifar10
  python -m iabench list
  python -m iabench list --markdown                   the explainer, metric and dataset tables of the docs
  python -m iabench report reports/faithfulness/<run-id>
  python -m iabench run --suite ground-truth          planted evidence: reliance checks, which protocol tells the truth
  python -m iabench contrast reports/ground-truth/<id> reports/ground-truth-garment/<id>   model contrast
"""


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are our one-line UserError (exit 2) rather than a usage dump."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UserError(f"{message} (see '{self.prog} --help')")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="auto",
                        help="auto (CUDA when available), cpu, cuda, cuda:N (default: auto)")
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="where checkpoints and explanations are cached (default: $IABENCH_CACHE or "
                             "~/.cache/iabench)")
    parser.add_argument("--data-root", default=None, help="folder holding the dataset files (see docs/datasets.md)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value, e.g. --set train.epochs=3 --set data.img_size=32 "
                             "(repeatable; values are read as YAML)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars or log lines")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="iabench", description="Interpretability benchmark for Vision Transformers: trains "
                     "IA-ViT and a plain ViT, explains both, scores every explanation, writes tables and plots.",
                     epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"iabench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    _add_run(sub)
    _add_others(sub)
    return parser


def _add_run(sub: argparse._SubParsersAction) -> None:
    p_run = sub.add_parser("run", help="run a suite: train or load models, explain, score, report",
                           description="Run a benchmark suite end to end. Results go to OUT/SUITE/RUN-ID/; "
                           "running the same configuration again resumes it (or reuses it when complete).")
    p_run.add_argument("--suite", default="faithfulness",
                       help="suite name (see 'iabench list') or a path to a suite YAML file (default: faithfulness)")
    p_run.add_argument("--samples", type=int, default=None, help="number of test images to explain and score")
    p_run.add_argument("--seed", type=int, default=None, help="training seed (replaces the suite's seeds)")
    p_run.add_argument("--pretrained", default=None,
                       help="backbone weights: 'hub' (timm's pretrained weights) or a local checkpoint file")
    p_run.add_argument("--model", default="", metavar="MODEL",
                       help="evaluate an existing model instead of training the suite's models: a timm ViT/DeiT name "
                            "(e.g. deit_small_patch16_224; --set model.num_heads=N when its width is not ARCH's) or "
                            "ia-vit:ARCH (an IA-ViT saved by iabench) with --checkpoint; a timm ResNet, ConvNeXt or "
                            "Swin name with --checkpoint (the methods that need no attention; images of data.img_size, "
                            "a multiple of its output stride); hf:DIR, a Hugging Face save_pretrained folder (ViT or "
                            "DeiT, read offline); torchvision[:HEADS] with --checkpoint (HEADS needed unless the width "
                            "is that of one of torchvision's builders)")
    p_run.add_argument("--checkpoint", default="", metavar="FILE",
                       help="the weights of --model (a timm or torchvision state dict, or an iabench checkpoint, read "
                            "with weights_only=True); classes, channels and image size come from it; no training")
    p_run.add_argument("--shard", default="", metavar="I/N",
                       help="explain and score only shard I of N (chunks I, I+N, ...), e.g. one per SLURM array task "
                            "or machine on a shared disk; then `iabench merge RUN_DIR` (torchrun shards by rank)")
    p_run.add_argument("--out", type=Path, default=Path("reports"), help="output folder (default: reports)")
    p_run.add_argument("--run-id", default="", help="run folder name (default: a hash of the configuration)")
    p_run.add_argument("--fresh", action="store_true", help="discard stored results of this run and recompute")
    p_run.add_argument("--resume", action="store_true",
                       help="continue a stopped run (the default whenever the run folder exists)")
    p_run.add_argument("--no-report", action="store_true", help="skip building tables and plots")
    p_run.add_argument("--jobs", default="auto", metavar="N",
                       help="CPU: train up to N models at once and explain+score in N processes, one thread each "
                            "(a tiny ViT gains little from a second thread: N processes finish about N times "
                            "sooner); default auto: as many as torch has threads on a CPU (OMP_NUM_THREADS), "
                            "1 on a GPU")
    _common(p_run)


def _add_others(sub: argparse._SubParsersAction) -> None:
    p_train = sub.add_parser("train", help="train (or load from cache) the models of a preset",
                             description="Train a plain ViT and/or IA-ViT with a preset's recipe and cache the "
                             "checkpoint; prints test accuracy and the interpreter's agreement.")
    p_train.add_argument("--preset", default="vit-tiny-fmnist", help="preset name (see 'iabench list')")
    p_train.add_argument("--model", choices=["vit", "ia-vit", "both"], default="both", help="which model(s)")
    p_train.add_argument("--pretrained", default=None, help="'hub' or a local checkpoint file for the backbone")
    p_train.add_argument("--retrain", action="store_true", help="train even when a cached checkpoint exists")
    _common(p_train)

    p_list = sub.add_parser("list", help="list suites, presets, explainers, metrics and datasets")
    p_list.add_argument("--markdown", action="store_true",
                        help="print only the explainer, metric and dataset tables of docs/explainers.md, "
                             "docs/metrics.md and docs/datasets.md (GitHub markdown)")
    p_list.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)

    p_merge = sub.add_parser("merge", help="join the shards of a run made with --shard I/N, then write its report")
    p_merge.add_argument("run_dir", type=Path, help="the run folder the shards wrote to")
    p_merge.add_argument("--debug", action="store_true", help="show tracebacks")

    p_report = sub.add_parser("report", help="rebuild every table and plot of a run from its stored results")
    p_report.add_argument("run_dir", type=Path, help="a run folder, e.g. reports/faithfulness/<run-id>")
    p_report.add_argument("--debug", action="store_true", help="show tracebacks")

    p_refresh = sub.add_parser("refresh", help="complete the records of a run folder written by an earlier iabench",
                               description="Fill the fields a report reads that an earlier iabench did not record in "
                               "metrics.json and explainers.json, from the registered explainers and metrics; once, "
                               "after which `iabench report RUN_DIR` works as for a new run.")
    p_refresh.add_argument("run_dir", type=Path, help="a run folder, e.g. reports/faithfulness/<run-id>")
    p_refresh.add_argument("--debug", action="store_true", help="show tracebacks")

    p_contrast = sub.add_parser("contrast", help="model contrast on planted evidence: the same images under two "
                                "labellings (e.g. a motif run against a garment run)",
                                description="The model contrast a planted-evidence dataset declares: evidence mass on "
                                "the pairing's mask under the model of one labelling minus under the model of the "
                                "other, on the same images (two runs differing in that labelling only), per model and "
                                "explainer: contrast.csv and contrast.md in the first run, whose report is rebuilt "
                                "with them. For evidence-fashion-mnist: the motif run (data.task motif), then the "
                                "garment run (data.task garment), mass on the motif.")
    p_contrast.add_argument("subject_run", type=Path,
                            help="the run of the labelling whose evidence is the pairing's mask (e.g. data.task motif)")
    p_contrast.add_argument("other_run", type=Path, help="the run of the other labelling (e.g. data.task garment)")
    p_contrast.add_argument("--debug", action="store_true", help="show tracebacks")


def _setup_logging(quiet: bool) -> None:
    """INFO lines on stderr (warnings only with --quiet); the run's log file gets INFO lines either way."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, "iabench_terminal", False)), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler.iabench_terminal = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    handler.stream = sys.stderr  # the current stderr (tests capture it per call)
    handler.setLevel(logging.WARNING if quiet else logging.INFO)
    if root.getEffectiveLevel() > logging.INFO:
        root.setLevel(logging.INFO)


COMMANDS = {"run": cmd_run, "train": cmd_train, "list": cmd_list, "report": cmd_report, "merge": cmd_merge,
            "refresh": cmd_refresh, "contrast": cmd_contrast}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv or os.environ.get("IABENCH_DEBUG") == "1"
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        _setup_logging(getattr(args, "quiet", False))
        return COMMANDS[args.command](args)
    except UserError as err:
        if debug:
            traceback.print_exc()
        print(f"iabench: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("iabench: interrupted; run the same command again to resume", file=sys.stderr)
        return 130

"""The command line: ``iabench run | train | list | report`` (also ``python -m iabench``).

Bad input is one line on stderr saying what was wrong and how to fix it, exit code 2, no traceback
(``--debug`` shows it). Earlier results are never touched by a failed command.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
import traceback
from pathlib import Path

from . import __version__
from .errors import UserError

log = logging.getLogger("iabench")

EXAMPLES = """examples:
  python -m iabench run --suite faithfulness          the main job (CPU default: Fashion-MNIST, tiny ViT)
  python -m iabench run --suite faithfulness --samples 50 --set train.epochs=2
  python -m iabench run --suite paper --device cuda --data-root ~/data/cifar10 --pretrained hub
  torchrun --nproc_per_node 4 -m iabench train --preset vit-b16 --data-root ~/data/cifar10
  python -m iabench list
  python -m iabench list --markdown                   README's explainer and metric tables
  python -m iabench report reports/faithfulness/<run-id>
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
    parser.add_argument("--data-root", default=None, help="folder holding the dataset files (see README, Datasets)")
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

    p_run = sub.add_parser("run", help="run a suite: train or load models, explain, score, report",
                           description="Run a benchmark suite end to end. Results go to OUT/SUITE/RUN-ID/; "
                           "running the same configuration again resumes it (or reuses it when complete).")
    p_run.add_argument("--suite", default="faithfulness",
                       help="suite name (see 'iabench list') or a path to a suite YAML file (default: faithfulness)")
    p_run.add_argument("--samples", type=int, default=None, help="number of test images to explain and score")
    p_run.add_argument("--seed", type=int, default=None, help="training seed (replaces the suite's seeds)")
    p_run.add_argument("--pretrained", default=None,
                       help="backbone weights: 'hub' (timm's pretrained weights) or a local checkpoint file")
    p_run.add_argument("--model", default="", metavar="ARCH",
                       help="evaluate an existing checkpoint instead of training the suite's models: a timm ViT/DeiT "
                            "name (e.g. deit_small_patch16_224), or ia-vit:ARCH for an IA-ViT saved by iabench")
    p_run.add_argument("--checkpoint", default="", metavar="FILE",
                       help="the weights of --model (a timm state dict or an iabench checkpoint, read with "
                            "weights_only=True); classes, channels and image size come from it; no training")
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
                       help="CPU: train up to N models at once, one process each, the cores shared among them "
                            "(a study's many small models train about N times sooner); default auto: as many "
                            "as torch has threads on a CPU (OMP_NUM_THREADS), 1 on a GPU")
    _common(p_run)

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
                        help="print only README's explainer and metric tables (GitHub markdown)")
    p_list.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)

    p_merge = sub.add_parser("merge", help="join the shards of a run made with --shard I/N, then write its report")
    p_merge.add_argument("run_dir", type=Path, help="the run folder the shards wrote to")
    p_merge.add_argument("--debug", action="store_true", help="show tracebacks")

    p_report = sub.add_parser("report", help="rebuild every table and plot of a run from its stored results")
    p_report.add_argument("run_dir", type=Path, help="a run folder, e.g. reports/faithfulness/<run-id>")
    p_report.add_argument("--debug", action="store_true", help="show tracebacks")
    return parser


def _setup_logging(quiet: bool) -> None:
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO, format="%(message)s", stream=sys.stderr)


def cmd_run(args: argparse.Namespace) -> int:
    from .runner import RunOptions, run

    overrides = list(args.overrides)
    if args.samples is not None:
        overrides.append(f"samples={args.samples}")
    if args.seed is not None:
        overrides.append(f"seeds=[{args.seed}]")
    if args.data_root is not None:
        overrides.append(f"data.root={args.data_root}")
    if args.pretrained is not None:
        overrides.append(f"model.pretrained={args.pretrained}")
    if args.jobs != "auto" and not (args.jobs.isdigit() and int(args.jobs) >= 1):
        raise UserError(f"--jobs {args.jobs}: use a number of processes (1 or more) or 'auto'")
    jobs = 0 if args.jobs == "auto" else int(args.jobs)  # 0: RunOptions' auto
    options = RunOptions(out_dir=args.out, device=args.device, run_id=args.run_id, fresh=args.fresh,
                         progress=not args.quiet, report=not args.no_report, jobs=jobs, model=args.model,
                         checkpoint=args.checkpoint, shard=args.shard)
    if args.cache_dir is not None:
        options.cache_dir = args.cache_dir
    for run_dir in run(args.suite, overrides, options):
        if int(os.environ.get("RANK", "0")) != 0:
            continue  # under torchrun, rank 0 says where the results are
        print(f"results: {run_dir}")
        if (run_dir / "summary.csv").exists():
            print(f"summary: {run_dir / 'summary.csv'}  report: {run_dir / 'report.html'}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from .config import from_dict, parse_override
    from .data import load_dataset
    from .device import resolve_device
    from .models import get_preset
    from .runner import default_cache_dir
    from .training import train_or_load

    preset = get_preset(args.preset)
    sections = {"data": {}, "model": {}, "train": {}}
    for text in args.overrides:
        keys, value = parse_override(text)
        if len(keys) != 2 or keys[0] not in sections:
            raise UserError(f"--set {text}: use data.KEY, model.KEY or train.KEY=VALUE")
        sections[keys[0]][keys[1]] = value
    if args.data_root is not None:
        sections["data"]["root"] = args.data_root
    if args.pretrained is not None:
        sections["model"]["pretrained"] = args.pretrained
    data_cfg = from_dict(type(preset.data), sections["data"], "data", preset.data)
    model_cfg = from_dict(type(preset.model), sections["model"], "model", preset.model)
    train_cfg = from_dict(type(preset.train), sections["train"], "train", preset.train)
    device = resolve_device(args.device)
    data = load_dataset(data_cfg)
    model_cfg = dataclasses.replace(model_cfg, in_chans=data.in_chans, num_classes=data.num_classes)
    cache = args.cache_dir or default_cache_dir()
    kinds = ["vit", "ia-vit"] if args.model == "both" else [args.model]
    for kind in kinds:
        trained = train_or_load(kind, model_cfg, dataclasses.replace(data_cfg, root=""), train_cfg, data, device,
                                cache, progress=not args.quiet, retrain=args.retrain)
        if os.environ.get("RANK", "0") != "0":
            continue  # under torchrun, one report is enough
        shown = {k: round(v, 4) for k, v in trained.metrics.items()}
        print(f"{kind}: {shown} checkpoint={trained.checkpoint}{' (cached)' if trained.cached else ''}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from .catalog import print_catalog

    print_catalog(markdown=args.markdown)
    return 0


def cmd_merge(args: argparse.Namespace) -> int:
    from .pipeline.shards import merge
    from .reporting import build_report

    count = merge(args.run_dir)
    print(f"merged {count} shards into {args.run_dir / 'results.csv'}")
    if not (args.run_dir / "metrics.json").exists():
        raise UserError(f"'{args.run_dir}' holds no metrics.json: shard 0 writes it when it finishes; run it again")
    for path in build_report(args.run_dir):
        print(path)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    if not (args.run_dir / "results.csv").is_file():
        raise UserError(f"'{args.run_dir}' holds no results.csv; give a run folder such as reports/faithfulness/<id>")
    from .reporting import build_report

    for path in build_report(args.run_dir):
        print(path)
    return 0


COMMANDS = {"run": cmd_run, "train": cmd_train, "list": cmd_list, "report": cmd_report, "merge": cmd_merge}


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

"""What each command of the command line does (``iabench.cli`` parses the arguments and calls these)."""

from __future__ import annotations

import argparse
import dataclasses
import os

from .errors import UserError


def refuse_missing_paths(args: argparse.Namespace) -> None:
    """A missing checkpoint, model folder or data folder, refused in one line before the heavy imports (seconds of
    torch, timm and captum): the same checks as the families' and datasets', only sooner."""
    from pathlib import Path

    model = args.model or ""
    if model.startswith("hf:") and not Path(model[3:]).expanduser().is_dir():
        raise UserError(f"--model hf:'{Path(model[3:]).expanduser()}' is not a folder; give the folder "
                        "save_pretrained wrote")
    if args.checkpoint and not Path(args.checkpoint).expanduser().is_file():
        raise UserError(f"--checkpoint '{Path(args.checkpoint).expanduser()}' does not exist; give the file of the "
                        "model's weights")
    if args.data_root and not Path(args.data_root).expanduser().is_dir():
        raise UserError(f"--data-root '{Path(args.data_root).expanduser()}' is not a folder; give the folder that "
                        "holds the dataset's files")


def cmd_run(args: argparse.Namespace) -> int:
    refuse_missing_paths(args)
    from .runner import RunOptions, run
    from .suites.overrides import Overrides

    overrides = Overrides.parse(args.overrides)  # each --set once; the flags as typed values
    for key, value in (("samples", args.samples), ("seeds", None if args.seed is None else [args.seed]),
                       ("data.root", args.data_root), ("model.pretrained", args.pretrained)):
        if value is not None:
            overrides = overrides.plus(key, value)
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
    from .cache_home import default_cache_dir
    from .config import from_dict, parse_override
    from .data import load_dataset
    from .data.config_options import data_config
    from .device import resolve_device
    from .models import get_preset
    from .pipeline.plan import hashable_data
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
    data_cfg = data_config(sections["data"], preset.data)
    model_cfg = from_dict(type(preset.model), sections["model"], "model", preset.model)
    train_cfg = from_dict(type(preset.train), sections["train"], "train", preset.train)
    device = resolve_device(args.device)
    data = load_dataset(data_cfg)
    model_cfg = dataclasses.replace(model_cfg, in_chans=data.in_chans, num_classes=data.num_classes)
    cache = args.cache_dir or default_cache_dir()
    kinds = ["vit", "ia-vit"] if args.model == "both" else [args.model]
    for kind in kinds:
        trained = train_or_load(kind, model_cfg, hashable_data(data_cfg), train_cfg, data, device,
                                cache, progress=not args.quiet, retrain=args.retrain,
                                load_data=lambda key: load_dataset(dataclasses.replace(key, root=data_cfg.root)))
        if os.environ.get("RANK", "0") != "0":
            continue  # under torchrun, one report is enough
        shown = {k: round(v, 4) for k, v in trained.metrics.items()}
        print(f"{kind}: {shown} checkpoint={trained.checkpoint}{' (cached)' if trained.cached else ''}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from .listing import cached_listing

    print(cached_listing(markdown=args.markdown), end="")
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


def cmd_refresh(args: argparse.Namespace) -> int:
    from .refresh import refresh

    added = refresh(args.run_dir)
    print(f"{args.run_dir}: added {', '.join(added)}" if added else f"{args.run_dir}: its records are complete")
    return 0


def cmd_contrast(args: argparse.Namespace) -> int:
    from .contrasts import write_contrast
    from .reporting.run_files import RunFiles

    print(write_contrast(RunFiles.read(args.subject_run), RunFiles.read(args.other_run)))
    return 0

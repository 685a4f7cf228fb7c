"""`interp probe`: linear probes per layer with a control task, and the causal check."""

from __future__ import annotations

import argparse
from pathlib import Path

from interp.cli.common import add_model_args, load, write_results
from interp.loading.spec import defaults_for
from interp.vocab.choices import BlockSite, EditMode, ProbeTaskName, options

__all__ = ["add_parsers"]


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("probe", help="linear probes per layer with a control task and a causal check")
    p.add_argument(
        "task", nargs="?", choices=options(ProbeTaskName), help="built-in probing task (default: the model's own)"
    )
    add_model_args(p)
    p.add_argument(
        "--site", default="resid_post", choices=options(BlockSite), help="where to probe (default resid_post)"
    )
    p.add_argument("--n-prompts", type=int, help="prompts to probe on (task default when absent)")
    p.add_argument(
        "--mode", choices=options(EditMode), default="ablate", help="causal check: project the direction out, or add it"
    )
    p.add_argument(
        "--alpha",
        type=float,
        default=0.0,
        help="steering strength, in units of the mean activation norm at the hook (--mode steer)",
    )
    p.add_argument("--layer", type=int, help="layer of the causal check (default: earliest near-best selectivity)")
    p.add_argument("--weight-decay", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cache-dir", type=Path, help="stream activations to safetensors shards here instead of memory")
    p.add_argument("--out", type=Path, default=Path("runs/probe"), help="output folder (default runs/probe)")
    p.set_defaults(handler=_probe)


def _probe(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from interp import plots
    from interp.probing.datasets import make_probe_task
    from interp.probing.experiment import probe_experiment
    from interp.probing.probes import ProbeConfig

    model = load(args)
    task = make_probe_task(
        args.task or defaults_for(args.model).probe_task, model, n_prompts=args.n_prompts, seed=args.seed
    )
    bars: dict[str, tqdm] = {}

    def progress(stage: str, done: int, total: int) -> None:
        bar = bars.setdefault(
            stage, tqdm(total=total, desc=stage, unit="prompt" if stage == "activations" else "layer")
        )
        bar.update(done - bar.n)

    experiment = probe_experiment(
        model,
        task,
        site=args.site,
        config=ProbeConfig(weight_decay=args.weight_decay, seed=args.seed),
        mode=args.mode,
        alpha=args.alpha,
        layer=args.layer,
        cache_dir=args.cache_dir,
        progress=progress,
    )
    for bar in bars.values():
        bar.close()
    result, check = experiment.probes, experiment.causal_check
    print(f"{task.description} ({result.n_train} train / {result.n_test} test rows, chance {result.chance:.3f})")
    print(f"{'layer':<7}{result.metric:>10}{'control':>10}{'selectivity':>13}")
    for i, layer in enumerate(result.layers):
        print(f"{layer:<7}{result.accuracy[i]:>10.3f}{result.control_accuracy[i]:>10.3f}{result.selectivity[i]:>13.3f}")
    print(
        f"causal check ({check.mode} at {check.hook}): {check.metric_name} {check.metric_clean:.3f} -> "
        f"{check.metric_intervened:.3f} (random directions: {check.metric_random:.3f}): {check.verdict}"
    )
    if check.downstream_hook:
        print(
            f"probed property at {check.downstream_hook}: accuracy {check.downstream_accuracy_clean:.3f} -> "
            f"{check.downstream_accuracy_intervened:.3f}"
        )
    figures = {
        "accuracy.html": plots.plot_probe_accuracy(result),
        "selectivity.html": plots.plot_probe_selectivity(result),
        "direction_cosines.html": plots.plot_probe_direction_cosines(result),
        "causal_check.html": plots.plot_causal_check(check),
    }
    write_results(args.out, {"result.json": result, "causal_check.json": check}, figures)
    return 0

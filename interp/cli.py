"""The `interp` command: models, model facts, tasks, the zoo, and the demo experiment.

Heavy imports (torch, transformer_lens) happen inside the commands that need them, so
`interp models` and `interp --help` answer at once.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import asdict
from pathlib import Path

from interp.cli_analyses import ANALYSIS_COMMANDS, add_analysis_parsers
from interp.cli_common import add_model_args, load, save_figure
from interp.zoo import DEFAULT_MODEL, ZOO

log = logging.getLogger("interp")








def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="interp", description="Mechanistic interpretability workbench")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("models", help="list the bundled zoo models")

    p = sub.add_parser("info", help="layers, heads, sites, context length and device of a model")
    add_model_args(p, positional=True)
    p.add_argument("--json", action="store_true", help="print JSON instead of text")

    p = sub.add_parser("task", help="a task's metric on clean and corrupted prompts")
    p.add_argument("task", help="built-in task: induction or ioi")
    add_model_args(p)
    p.add_argument("--n-prompts", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, help="folder for result.json and task.html")

    add_analysis_parsers(sub)

    p = sub.add_parser("probe", help="linear probes per layer with a control task and a causal check")
    p.add_argument("task", nargs="?", help="built-in probing task: repeat or ioi-io (default: the model's own)")
    add_model_args(p)
    p.add_argument("--site", default="resid_post", help="resid_pre, resid_mid, resid_post, attn_out or mlp_out")
    p.add_argument("--n-prompts", type=int, help="prompts to probe on (task default when absent)")
    p.add_argument("--mode", choices=["ablate", "steer"], default="ablate", help="causal check: project the direction out, or add it")
    p.add_argument("--alpha", type=float, default=0.0, help="steering strength, in units of the mean activation norm at the hook (with --mode steer)")
    p.add_argument("--layer", type=int, help="layer of the causal check (default: earliest near-best selectivity)")
    p.add_argument("--weight-decay", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cache-dir", type=Path, help="stream activations to safetensors shards here instead of memory")
    p.add_argument("--out", type=Path, default=Path("runs/probe"), help="output folder (default runs/probe)")

    p = sub.add_parser("demo", help="the main job: IOI behaviour and head scores of a model, saved with figures")
    add_model_args(p)
    p.add_argument("--out", type=Path, default=Path("runs/demo"), help="output folder (default runs/demo)")

    zoo = sub.add_parser("zoo", help="the bundled models").add_subparsers(dest="zoo_command", required=True)
    p = zoo.add_parser("train", help="retrain a zoo model from its seed and rewrite its card")
    p.add_argument("name", choices=sorted(ZOO))
    p.add_argument("--out", type=Path, help="write here instead of the package's zoo folder")
    p.add_argument("--steps", type=int, help="override the number of steps (quick checks)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return COMMANDS[args.command](args)
    except (ValueError, OSError) as err:  # our errors say what to fix; a traceback would bury that
        print(f"interp: error: {err}", file=sys.stderr)
        return 2


def _models(args: argparse.Namespace) -> int:
    for entry in ZOO.values():
        default = " (default)" if entry.spec == DEFAULT_MODEL else ""
        built = "" if entry.is_built else " [not built: run `interp zoo train " + entry.name + "`]"
        print(f"{entry.spec:<18} {entry.summary}{default}{built}")
    print("\nAlso: any TransformerLens official name (e.g. gpt2) when the hub is reachable, or a local checkpoint folder.")
    return 0




def _info(args: argparse.Namespace) -> int:
    from interp.model import model_facts

    facts = model_facts(load(args))
    if args.json:
        print(json.dumps(asdict(facts), indent=2))
        return 0
    mlp = f"d_mlp {facts.d_mlp}" if facts.d_mlp else "attention-only"
    print(f"{facts.name}: {facts.n_layers} layers x {facts.n_heads} heads (d_model {facts.d_model}, d_head {facts.d_head}, {mlp})")
    print(f"vocabulary {facts.d_vocab}, context {facts.n_ctx} tokens, {facts.n_params:,} parameters")
    print(f"device {facts.device}, dtype {facts.dtype}")
    print(f"sites: {', '.join(facts.sites)}")
    return 0




def _task(args: argparse.Namespace) -> int:
    from interp.behaviour import evaluate_task
    from interp.tasks import make_task

    model = load(args)
    result = evaluate_task(model, make_task(args.task, model, n_prompts=args.n_prompts, seed=args.seed))
    print(f"{result.task} on {result.model}, {result.n_prompts} prompts")
    print(f"{'':<10}{'logit diff':>12}{'accuracy':>10}{'p(answer)':>11}")
    print(f"{'clean':<10}{result.mean_clean_logit_diff:>12.3f}{result.clean_accuracy:>10.3f}{result.clean_answer_prob:>11.3f}")
    print(f"{'corrupted':<10}{result.mean_corrupted_logit_diff:>12.3f}{result.corrupted_accuracy:>10.3f}{result.corrupted_answer_prob:>11.3f}")
    print(f"KL(clean || corrupted) at the answer position: {result.kl_corrupted_to_clean:.3f} nats")
    if args.out:
        from interp.plots import plot_task_metrics
        from interp.results import save_json

        print(f"wrote {save_json(result, args.out / 'result.json')} and {save_figure(plot_task_metrics(result), args.out / 'task.html')}")
    return 0


def _probe(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from interp import plots
    from interp.probe_experiment import probe_experiment
    from interp.probe_tasks import DEFAULT_PROBE_TASK, make_probe_task
    from interp.probes import ProbeConfig
    from interp.results import save_json

    task_name = args.task or DEFAULT_PROBE_TASK.get(args.model)
    if task_name is None:
        raise ValueError(f"name a probing task for {args.model}: repeat (any model) or ioi-io (single-token IOI names)")
    model = load(args)
    task = make_probe_task(task_name, model, n_prompts=args.n_prompts, seed=args.seed)
    bars: dict[str, tqdm] = {}

    def progress(stage: str, done: int, total: int) -> None:
        bar = bars.setdefault(stage, tqdm(total=total, desc=stage, unit="prompt" if stage == "activations" else "layer"))
        bar.update(done - bar.n)

    result, check = probe_experiment(
        model, task, site=args.site, config=ProbeConfig(weight_decay=args.weight_decay, seed=args.seed),
        mode=args.mode, alpha=args.alpha, layer=args.layer, cache_dir=args.cache_dir, progress=progress,
    )
    for bar in bars.values():
        bar.close()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    files = [save_json(result, out / "result.json"), save_json(check, out / "causal_check.json")]
    for name, fig in (
        ("accuracy", plots.plot_probe_accuracy(result)), ("selectivity", plots.plot_probe_selectivity(result)),
        ("direction_cosines", plots.plot_probe_direction_cosines(result)), ("causal_check", plots.plot_causal_check(check)),
    ):
        files.append(save_figure(fig, out / f"{name}.html"))
    print(f"{task.description} ({result.n_train} train / {result.n_test} test rows, chance {result.chance:.3f})")
    print(f"{'layer':<7}{result.metric:>10}{'control':>10}{'selectivity':>13}")
    for i, layer in enumerate(result.layers):
        print(f"{layer:<7}{result.accuracy[i]:>10.3f}{result.control_accuracy[i]:>10.3f}{result.selectivity[i]:>13.3f}")
    print(f"causal check ({check.mode} at {check.hook}): {check.metric_name} {check.metric_clean:.3f} -> {check.metric_intervened:.3f} "
          f"(random directions: {check.metric_random:.3f}): {check.verdict}")
    if check.downstream_hook:
        print(f"probed property at {check.downstream_hook}: accuracy {check.downstream_accuracy_clean:.3f} -> {check.downstream_accuracy_intervened:.3f}")
    print(f"results written to {out.resolve()}: " + ", ".join(f.name for f in files))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from interp.behaviour import evaluate_task
    from interp.heads import head_scores
    from interp.plots import plot_head_scores, plot_task_metrics
    from interp.results import save_json
    from interp.tasks import ioi_task

    model = load(args)
    print(f"loaded {args.model}; running IOI (64 prompts) and head scores ...")
    metrics = evaluate_task(model, ioi_task(model, n_prompts=64, seed=0))
    scores = head_scores(model)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    files = [
        save_json(metrics, out / "ioi.json"),
        save_json(scores, out / "head_scores.json"),
        save_figure(plot_task_metrics(metrics), out / "ioi.html"),
        save_figure(plot_head_scores(scores), out / "head_scores.html"),
    ]
    print(f"IOI: clean accuracy {metrics.clean_accuracy:.3f}, logit diff {metrics.mean_clean_logit_diff:.2f} clean vs {metrics.mean_corrupted_logit_diff:.2f} corrupted (ABC)")
    for name in scores.score_names:
        print(f"top {name.replace('_', '-')} heads: " + ", ".join(f"{h} {v:.2f}" for h, v in scores.top_heads(name)))
    print("results written to " + str(out.resolve()) + ":")
    for f in files:
        print(f"  {f.name}")
    return 0


def _zoo(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from interp.model import load_model
    from interp.zoo.card import write_card
    from interp.zoo.train import train_zoo_model

    with tqdm(desc=f"training {args.name}", unit="step") as bar:

        def progress(step: int, total: int, info: dict) -> None:
            bar.total = total
            bar.update(step - bar.n)
            bar.set_postfix(loss=f"{info['loss']:.3f}")

        report = train_zoo_model(args.name, out_dir=args.out, steps=args.steps, progress=progress)
    folder = args.out if args.out else ZOO[args.name].folder
    numbers = write_card(args.name, folder, load_model(str(folder), device="cpu"))
    print(f"trained {args.name} in {report.seconds:.0f} s: final loss {report.final_loss:.4f}, {report.n_params:,} parameters, {report.size_bytes / 1e6:.2f} MB")
    for key in ("induction_accuracy", "ioi_heldout_accuracy"):
        if key in numbers:
            print(f"{key}: {numbers[key]['accuracy']:.3f}")
    print(f"wrote {folder}/ (config.json, model.safetensors, tokenizer/, CARD.md)")
    return 0


COMMANDS = {"models": _models, "info": _info, "task": _task, "probe": _probe, "demo": _demo, "zoo": _zoo} | ANALYSIS_COMMANDS

if __name__ == "__main__":
    sys.exit(main())

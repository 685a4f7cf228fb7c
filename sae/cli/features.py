"""`sae eval` (metrics.json with a density figure) and `sae features` (dashboards, prompt features,
interventions, feature DLA): an SAE read on a model's activations over a set of tokens."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from interp.cli.common import progress_bar, write_results
from interp.vocab.choices import TaskName, options

__all__ = ["add_parsers"]


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="L0, MSE, explained variance, CE loss recovered, KL, dead/dense latents of an SAE")
    _add_common_args(p, out="runs/sae-eval")
    p.add_argument(
        "--dense-threshold", type=float, default=0.1, help="a latent firing on more tokens than this fraction is dense"
    )
    p.set_defaults(handler=_eval)

    p = sub.add_parser(
        "eval-transcoders",
        help="explained variance, L0 and dead latents of each transcoder, CE loss recovered with every MLP replaced",
    )
    p.add_argument("path", type=Path, help="a transcoder folder or `sae train` job folder")
    p.add_argument("--model", required=True, help="the model whose MLPs they replace")
    p.add_argument("--n-tokens", type=int, default=20_000, help="about this many tokens are read")
    p.add_argument("--context", type=int, default=48, help="tokens per prompt")
    p.add_argument("--dataset", default="", help="token source, as for `sae eval` (default: a zoo model's corpus)")
    p.add_argument("--text-column", default="text")
    p.add_argument("--device", default="auto")
    p.add_argument("--seed", type=int, default=1, help="seed of the token rows (jobs collect theirs with seed 0)")
    p.add_argument("--out", type=Path, default=Path("runs/transcoder-eval"))
    p.set_defaults(handler=_eval_transcoders)

    p = sub.add_parser(
        "features", help="feature dashboards, the features of a prompt, feature DLA, ablation and steering"
    )
    _add_common_args(p, out="runs/sae-features")
    p.add_argument(
        "--feature",
        type=int,
        action="append",
        default=[],
        help="a feature to build a dashboard for (repeatable); default: the 5 most frequent",
    )
    p.add_argument(
        "--prompt",
        help="a prompt: its features per token, and (with --feature) ablating/steering the first feature there",
    )
    p.add_argument("--steer", type=float, help="with --prompt: steer the feature to this value instead of ablating it")
    p.add_argument(
        "--task",
        choices=options(TaskName),
        help="a built-in task for feature DLA on its answer-minus-wrong logit difference",
    )
    p.set_defaults(handler=_features)


def _add_common_args(p: argparse.ArgumentParser, *, out: str) -> None:
    p.add_argument("path", type=Path, help="an SAE folder (SAELens format) or release:sae_id")
    p.add_argument("--model", required=True, help="zoo:NAME, official name, or local folder: the model the SAE reads")
    p.add_argument("--hook", help="the SAE's hook (default: the hook in its metadata)")
    p.add_argument("--n-tokens", type=int, default=20_000, help="about this many tokens are read")
    p.add_argument("--context", type=int, default=48, help="tokens per prompt")
    p.add_argument(
        "--dataset",
        help="token source: text:python-docs or text:fortunes (English text installed offline; `sae eval` reads "
        "their held-out split, text:NAME/train the training one), a .txt or .jsonl file, a datasets save_to_disk "
        "folder, or hf:NAME (default: for `sae eval`, the held-out split of the SAE's training text when that was "
        "a text: source; else a zoo model's own corpus)",
    )
    p.add_argument("--text-column", default="text", help="the field holding the text in jsonl / datasets sources")
    p.add_argument("--device", default="auto")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path(out))


def _load(args: argparse.Namespace, *, evaluation: bool = False) -> tuple[Any, Any, Any]:
    """The model, the SAE on the model's device, and the tokens the command reads (for an evaluation, from
    `evaluation_source`: a named text's held-out split)."""
    from interp.loading.model import load_model
    from interp.loading.saes import load_sae
    from interp.loading.token_sources import token_rows
    from interp.zoo.texts import check_text_source, evaluation_source, is_text_source

    dataset = args.dataset or ""
    if is_text_source(dataset):
        check_text_source(dataset)  # before the model loads
    model = load_model(args.model, device=args.device)
    sae = load_sae(args.path, device=str(model.cfg.device))
    if evaluation:
        dataset = evaluation_source(dataset, trained_on=str(sae.cfg.metadata.get("dataset_path") or ""))
        print("tokens from", dataset or "the model's own corpus")
    tokens = token_rows(
        model,
        n_tokens=args.n_tokens,
        context=args.context,
        dataset=dataset,
        text_column=args.text_column,
        seed=args.seed,
    )
    return model, sae, tokens


def _eval(args: argparse.Namespace) -> int:
    from sae import plots
    from sae.evaluation import evaluate_sae

    model, sae, tokens = _load(args, evaluation=True)
    with progress_bar("evaluating", "batch") as progress:
        result = evaluate_sae(
            model,
            sae,
            tokens,
            hook=args.hook,
            sae_name=str(args.path),
            dense_threshold=args.dense_threshold,
            progress=progress,
        )
    print(
        f"{result.n_tokens} tokens at {result.hook}: L0 {result.l0:.1f}, explained variance "
        f"{result.explained_variance:.3f}, "
        f"CE loss recovered {result.ce_loss_recovered:.3f} (SAELens's; {result.ce_loss_recovered_consistent:.3f} "
        f"with the baseline ablated where the SAE is spliced), KL {result.kl:.4f}, dead "
        f"{result.dead_fraction:.1%}, dense {result.dense_fraction:.1%}"
    )
    write_results(args.out, {"metrics.json": result}, {"density.html": plots.plot_sae_eval(result)})
    return 0


def _eval_transcoders(args: argparse.Namespace) -> int:
    from interp.graphs.transcoder_set import load_transcoders
    from interp.loading.model import load_model
    from interp.loading.token_sources import token_rows
    from sae.transcoder_eval import evaluate_transcoders

    model = load_model(args.model, device=args.device)
    transcoders = load_transcoders(args.path, device=str(model.cfg.device))
    tokens = token_rows(
        model, n_tokens=args.n_tokens, context=args.context, dataset=args.dataset,
        text_column=args.text_column, seed=args.seed,
    )  # fmt: skip
    with progress_bar("evaluating", "batch") as progress:
        result = evaluate_transcoders(model, transcoders, tokens, progress=progress)
    print(f"{result.n_tokens} tokens; per block: explained variance, L0, dead latents")
    for layer, ev, l0, dead in zip(result.layers, result.explained_variance, result.l0, result.dead_fraction):
        print(f"  block {layer}: {ev:.3f}  {l0:6.1f}  {dead:6.1%}")
    print(
        f"every MLP replaced: CE loss {result.ce_loss_replaced:.4f} (clean {result.ce_loss_clean:.4f}, MLPs zeroed "
        f"{result.ce_loss_zero_ablation:.4f}): CE loss recovered {result.ce_loss_recovered:.3f} (SAELens's; "
        f"{result.ce_loss_recovered_consistent:.3f} with the MLPs zeroed only where replaced), KL {result.kl:.4f}"
    )
    write_results(args.out, {"metrics.json": result}, {})
    return 0


def _features(args: argparse.Namespace) -> int:

    from interp.observe.overview import prompt_tokens
    from interp.tasks.generators import make_task
    from sae import features as sae_features
    from sae import plots

    model, sae, tokens = _load(args)
    acts = sae_features.feature_acts(model, sae, tokens, hook=args.hook)
    chosen = args.feature or acts.flatten(0, 1).gt(0).sum(0).topk(5).indices.tolist()
    results, figures = {}, {}
    for f in chosen:
        dash = sae_features.feature_dashboard(model, sae, tokens, f, acts=acts, hook=args.hook)
        results[f"feature_{f}.json"], figures[f"feature_{f}.html"] = dash, plots.plot_feature_dashboard(dash)
        print(
            f"feature {f}: density {dash.density:.2%}, max {dash.max_activation:.2f}; promotes "
            + ", ".join(repr(t) for t, _ in dash.promoted[:5])
        )
    if args.prompt:
        prompt = prompt_tokens(model, args.prompt)[0]  # refuses empty, unknown-word and over-long prompts
        pf = sae_features.prompt_features(model, sae, prompt, hook=args.hook)
        results["prompt_features.json"], figures["prompt_features.html"] = pf, plots.plot_prompt_features(pf)
        mode = "steer" if args.steer is not None else "ablate"
        edit = sae_features.intervene(model, sae, prompt, chosen[0], mode=mode, value=args.steer or 0.0, hook=args.hook)
        results["intervention.json"], figures["intervention.html"] = edit, plots.plot_feature_intervention(edit)
        print(
            f"{mode} feature {chosen[0]} on the prompt: KL {edit.kl:.4f}; top next token "
            f"{edit.top_before[0][0]!r} -> {edit.top_after[0][0]!r}"
        )
    if args.task:
        res = sae_features.feature_dla(
            model, sae, make_task(args.task, model, n_prompts=16, seed=args.seed), hook=args.hook
        )
        results["feature_dla.json"], figures["feature_dla.html"] = res, plots.plot_feature_dla(res)
        print(
            f"feature DLA on {args.task}: all features {res.all_features_total:.2f}, SAE error "
            f"{res.other['sae error']:.2f}, "
            f"logit diff {res.logit_diff:.2f}; top "
            + ", ".join(f"f{f} {c:+.2f}" for f, c in zip(res.features[:5], res.contributions[:5]))
        )
    write_results(args.out, results, figures)
    return 0

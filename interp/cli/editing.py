"""`interp generate`, `steer`, `trace`, `edit` and `facts`: generation with interventions, steering vectors and their
evaluation, causal tracing, and knowledge edits (interp.generation, interp.steering, interp.editing)."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from interp.cli.common import add_model_args, load, progress_bar, write_results

__all__ = ["add_parsers"]


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("generate", help="continue prompts, optionally with a steering vector active")
    add_model_args(p)
    p.add_argument("--prompt", action="append", required=True, help="a prompt to continue (repeat for several)")
    p.add_argument("--max-new-tokens", type=int, default=32)
    p.add_argument("--chat", action="store_true", help="wrap each prompt as a user turn of the model's chat template")
    p.add_argument("--temperature", type=float, default=0.0, help="0 (default): greedy")
    p.add_argument("--top-p", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--stop", action="append", default=[], help="stop at this text (repeat for several)")
    p.add_argument("--steer", type=Path, help="a steering vector's folder (written by `interp steer`)")
    p.add_argument("--strength", type=float, default=0.25, help="steering strength, x the typical activation norm")
    p.add_argument(
        "--from-position", type=int, default=0, help="steer from this position of each prompt on (default 0: all)"
    )
    p.add_argument("--out", type=Path, default=Path("runs/generate"), help="output folder (default runs/generate)")
    p.set_defaults(handler=_generate)

    p = sub.add_parser("steer", help="make a DiffMean steering vector from two prompt files, evaluate and save it")
    add_model_args(p)
    p.add_argument("--positive", type=Path, help="prompts toward the concept, one per line (default: the concept's)")
    p.add_argument("--negative", type=Path, help="prompts away from it, one per line (default: the concept's)")
    p.add_argument("--layer", type=int, required=True, help="the residual stream before this layer")
    p.add_argument("--concept", default="weddings", help="the concept whose lexicon scores the generations")
    p.add_argument("--strengths", type=float, nargs="+", help="the sweep (default 0.25 0.5 1 2)")
    p.add_argument("--prompts", type=Path, help="prompts to steer from, one per line (default: six open questions)")
    p.add_argument("--max-new-tokens", type=int, default=32)
    p.add_argument("--out", type=Path, required=True, help="folder for the vector and its evaluation")
    p.set_defaults(handler=_steer)

    p = sub.add_parser("trace", help="causal tracing: where the model recalls the answer to a prompt about a subject")
    add_model_args(p)
    p.add_argument("--prompt", required=True)
    p.add_argument("--subject", required=True, help="text of the prompt whose embeddings are noised")
    p.add_argument("--target", help="the answer traced (default: the model's own top next token)")
    p.add_argument("--samples", type=int, default=4, help="noise samples (default 4)")
    p.add_argument("--window", type=int, default=1, help="MLP/attention layers restored together (default 1)")
    p.add_argument("--out", type=Path, default=Path("runs/trace"), help="output folder (default runs/trace)")
    p.set_defaults(handler=_trace)

    p = sub.add_parser("edit", help="teach the model a fact (ROME; MEMIT for --facts or several --layers)")
    add_model_args(p)
    p.add_argument("--prompt", help="the fact's prompt, ending where the answer begins")
    p.add_argument("--subject", help="the subject, as written in the prompt")
    p.add_argument("--target", help="the new answer")
    p.add_argument("--paraphrase", action="append", default=[], help="another prompt for the fact (scored)")
    p.add_argument("--facts", type=Path, help="a JSON Lines fact file to edit in one batch instead")
    p.add_argument(
        "--layers", type=int, nargs="+", help="MLP layers edited (default: one, at 20%% of the depth, rounded down)"
    )
    p.add_argument("--out", type=Path, required=True, help="a new folder for the edited model and its evaluation")
    p.set_defaults(handler=_edit)

    p = sub.add_parser("facts", help="which facts of a fact file the model gets right")
    add_model_args(p)
    p.add_argument("--facts", type=Path, help="a JSON Lines fact file (default: the bundled set)")
    p.add_argument("--out", type=Path, default=Path("runs/facts"), help="output folder (default runs/facts)")
    p.set_defaults(handler=_facts)


def _lines(path: Path) -> list[str]:
    from interp.results import read_lines

    return read_lines(path, "prompts")


def _generate(args: argparse.Namespace) -> int:
    from interp.generation import generate
    from interp.steering import load_vector, steer_hooks

    if not math.isfinite(args.strength):
        raise ValueError(f"strength is {args.strength}; give a finite number")
    if args.from_position < 0:
        raise ValueError(f"from_position is {args.from_position}; give 0 or more")
    model = load(args)
    edits = []
    if args.steer is not None:
        edits = steer_hooks(model, load_vector(args.steer), args.strength, from_position=args.from_position)
    with progress_bar("generating", "batch") as progress:
        result = generate(
            model,
            args.prompt,
            max_new_tokens=args.max_new_tokens,
            temperature=args.temperature,
            top_p=args.top_p,
            seed=args.seed,
            stop=args.stop,
            chat=args.chat,
            interventions=edits,
            progress=progress,
        )
    for prompt, text in zip(result.prompts, result.texts):
        print(f"{prompt!r} ->\n{text}\n")
    write_results(args.out, {"result.json": result}, {})
    return 0


def _steer(args: argparse.Namespace) -> int:
    from interp.plots import plot_steering
    from interp.steering import STRENGTHS, concept, diffmean_vector, evaluate_steering, save_vector

    c = concept(args.concept)
    for s in args.strengths or ():
        if not math.isfinite(s):  # before the vector is made: the sweep would refuse it only after
            raise ValueError(f"strength {s} is not a finite number")
    positive = _lines(args.positive) if args.positive else list(c.positive)
    negative = _lines(args.negative) if args.negative else list(c.negative)
    model = load(args)
    vector = diffmean_vector(model, positive, negative, layer=args.layer)
    save_vector(vector, args.out)
    norm = float(vector.vector.norm())
    print(f"vector written to {args.out.resolve()} ({vector.method} at {vector.hook}, |v| {norm:.3g}, "
          f"typical activation norm {vector.scale:.3g})")  # fmt: skip
    with progress_bar("steering", "run") as progress:
        result = evaluate_steering(
            model,
            vector,
            concept_name=c.name,
            prompts=_lines(args.prompts) if args.prompts else None,
            strengths=args.strengths or STRENGTHS,
            max_new_tokens=args.max_new_tokens,
            progress=progress,
        )
    print(f"{'':12} concept  per100w  perplexity  repetition")
    for r in result.rows:
        print(f"{r.label:12} {r.concept_score:7.2f}  {r.concept_rate:7.1f}  {r.perplexity:10.2f}  {r.repetition:10.2f}")
    write_results(args.out, {"evaluation.json": result}, {"steering.html": plot_steering(result)})
    return 0


def _trace(args: argparse.Namespace) -> int:
    from interp.editing import causal_trace, model_answer
    from interp.plots import plot_causal_trace

    model = load(args)
    target = args.target or model_answer(model, args.prompt)
    with progress_bar("tracing", "layer") as progress:
        result = causal_trace(
            model, args.prompt, args.subject, target, n_samples=args.samples, window=args.window, progress=progress
        )
    print(f"p({target!r}): clean {result.clean_prob:.3f}, subject noised {result.corrupted_prob:.3f}")
    for site, values in zip(result.sites, result.values):
        layer, pos = max(((la, p) for la in range(len(values)) for p in range(len(values[la]))),
                         key=lambda lp: values[lp[0]][lp[1]])  # fmt: skip
        print(f"  {site:<10} restores most at layer {layer}, token {result.tokens[pos]!r}: {values[layer][pos]:.3f}")
    write_results(args.out, {"trace.json": result}, {"trace.html": plot_causal_trace(result)})
    return 0


def _edit(args: argparse.Namespace) -> int:
    from interp.editing import (
        EditConfig,
        Fact,
        check_edit_folder,
        edit_facts,
        evaluate_edit,
        load_facts,
        neighbours,
        save_edited_model,
    )
    from interp.plots import plot_edit

    check_edit_folder(args.model, args.out)  # before any work: an edit never overwrites a model
    if args.facts is not None:
        facts = list(load_facts(args.facts))
    elif args.prompt and args.subject and args.target:
        facts = [Fact(args.subject, args.prompt, args.target, paraphrases=tuple(args.paraphrase))]
    else:
        raise ValueError("give --prompt, --subject and --target (one fact), or --facts FILE (a batch)")
    config = EditConfig(layers=tuple(args.layers or ()))
    model = load(args)
    with progress_bar("editing", "step") as progress:
        edit = edit_facts(model, facts, config=config, progress=progress)
    save_edited_model(edit, args.out)
    print(f"edited model written to {args.out.resolve()}: {edit}")
    near = [n for f in facts for n in neighbours(f, load_facts()) if n.subject not in {f.subject for f in facts}]
    result = evaluate_edit(model, edit, facts, neighbours=near[:8])
    print(f"efficacy {result.efficacy:.2f}, paraphrases {result.generalisation:.2f}, specificity "
          f"{result.specificity:.2f}, perplexity of free generation {result.fluency_before:.2f} -> "
          f"{result.fluency_after:.2f}")  # fmt: skip
    write_results(args.out, {"evaluation.json": result}, {"edit.html": plot_edit(result)})
    return 0


def _facts(args: argparse.Namespace) -> int:
    from interp.editing import FACTS_FILE, load_facts, recall_facts

    facts = load_facts(args.facts or FACTS_FILE)
    model = load(args)
    result = recall_facts(model, facts)
    for p, t, top, known in zip(result.prompts, result.targets, result.predicted, result.known):
        print(f"{'knows ' if known else 'WRONG '} {p!r}: {t!r}, model says {top!r}")
    print(f"{result.n_known} of {len(facts)} facts known")
    write_results(args.out, {"recall.json": result}, {})
    return 0

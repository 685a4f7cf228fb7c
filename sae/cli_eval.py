"""`sae eval`: evaluate a saved SAE on a model's activations and write metrics.json with a density figure."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parsers(sub) -> None:
    p = sub.add_parser("eval", help="L0, MSE, explained variance, CE loss recovered, KL, dead/dense latents of an SAE")
    p.add_argument("path", type=Path, help="an SAE folder (SAELens format)")
    p.add_argument("--model", required=True, help="zoo:NAME, official name, or local folder: the model the SAE reads")
    p.add_argument("--hook", help="hook to splice the SAE into (default: the hook in the SAE's metadata)")
    p.add_argument("--n-tokens", type=int, default=20_000, help="about this many tokens are evaluated")
    p.add_argument("--context", type=int, default=48, help="tokens per prompt")
    p.add_argument("--text", type=Path, help="a text file to evaluate on (default: a zoo model's own corpus)")
    p.add_argument("--dense-threshold", type=float, default=0.1, help="a latent firing on more tokens than this fraction is dense")
    p.add_argument("--device", default="auto")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("runs/sae-eval"))
    p.set_defaults(handler=_eval)


def _eval(args: argparse.Namespace) -> int:
    from interp.cli_common import write_results
    from interp.model import load_model
    from sae import plots
    from sae.cli_superposition import progress_bar
    from sae.evaluation import evaluate_sae
    from sae.loading import load_sae
    from sae.tokens import eval_tokens

    model = load_model(args.model, device=args.device)
    sae = load_sae(args.path, device=str(model.cfg.device))
    tokens = eval_tokens(model, args.model, n_tokens=args.n_tokens, context=args.context, text_file=args.text, seed=args.seed)
    with progress_bar("evaluating", "batch") as progress:
        result = evaluate_sae(model, sae, tokens, hook=args.hook, sae_name=str(args.path), dense_threshold=args.dense_threshold, progress=progress)
    print(f"{result.n_tokens} tokens at {result.hook}: L0 {result.l0:.1f}, explained variance {result.explained_variance:.3f}, "
          f"CE loss recovered {result.ce_loss_recovered:.3f}, KL {result.kl:.4f}, dead {result.dead_fraction:.1%}, dense {result.dense_fraction:.1%}")
    write_results(args.out, {"metrics.json": result}, {"density.html": plots.plot_sae_eval(result)})
    return 0

"""Benchmark: a sweep of SAEs trained from one activation cache (`sae train`) vs SAELens's own
`LanguageModelSAETrainingRunner` run once per SAE, on the same model, hook, tokens, budget and device.

    .venv/bin/python benchmarks/sae_sweep.py [--device cpu|cuda] [--training-tokens 1000000] [--k 8 16 32 64]
                                             [--smoke]

Both sides get the same token rows (`--dataset-tokens` distinct tokens of the zoo corpus, cycled until
each SAE has seen `--training-tokens` activations), the same TopK architecture, width, batch size and
constant learning rate. Times include everything a user waits for: loading the model, running it
(once for the cache; once per SAE, over every training token, inside the runner) and training. The
SAEs of both sides are then evaluated by `sae.evaluation.evaluate_sae` on the same held-out tokens.
`--smoke` (tests/test_benchmarks.py): one SAE of 64 latents on 4,096 tokens a side, written to a new temporary
folder unless --out is given; it checks in seconds that the benchmark runs.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from _common import parse

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "disabled")

SMOKE = {
    "k": [8],
    "d_sae": 64,
    "training_tokens": 4096,
    "dataset_tokens": 2048,
    "batch_size": 512,
    "eval_tokens": 1024,
}
"""--smoke's sizes (options given on the command line still win)."""


def sae_lens_runner(
    *, model, model_spec: str, hook: str, d_sae: int, k: int, tokens, training_tokens: int, batch_size: int, lr: float,
    seed: int, device: str, exclude_special_tokens: bool = False,
):  # fmt: skip
    """SAELens's runner as a user would run it for one SAE: its own model forward passes and buffer (keywords: the
    learning rate once slid into another field when a positional argument was added)."""
    import datasets
    from sae_lens import LanguageModelSAERunnerConfig, LanguageModelSAETrainingRunner
    from sae_lens.config import LoggingConfig
    from sae_lens.saes.topk_sae import TopKTrainingSAEConfig

    cfg = LanguageModelSAERunnerConfig(
        sae=TopKTrainingSAEConfig(d_in=model.cfg.d_model, d_sae=d_sae, k=k),
        model_name=model_spec,
        hook_name=hook,
        dataset_path="in-memory",
        is_dataset_tokenized=True,
        context_size=tokens.shape[1],
        prepend_bos=False,  # the rows already start with BOS
        exclude_special_tokens=exclude_special_tokens,
        training_tokens=training_tokens,
        train_batch_size_tokens=batch_size,
        n_batches_in_buffer=100,
        store_batch_size_prompts=16,  # buffer 100 x 16 x 48 tokens: several batches, less than the data
        lr=lr,
        lr_end=lr,
        device=device,
        seed=seed,
        logger=LoggingConfig(log_to_wandb=False),
        n_checkpoints=0,
        save_final_checkpoint=False,
        output_path=None,
        n_eval_batches=0,
        verbose=False,
    )
    data = datasets.Dataset.from_dict({"input_ids": tokens.tolist()})
    return LanguageModelSAETrainingRunner(cfg, override_model=model, override_dataset=data).run()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="zoo:lang-4l")
    p.add_argument("--hook", default="blocks.2.hook_resid_post")
    p.add_argument("--k", type=int, nargs="+", default=[8, 16, 32, 64])
    p.add_argument("--d-sae", type=int, default=1024)
    p.add_argument("--training-tokens", type=int, default=1_000_000)
    p.add_argument("--dataset-tokens", type=int, default=120_000)
    p.add_argument("--batch-size", type=int, default=4096)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--eval-tokens", type=int, default=20_000)
    p.add_argument("--device", default="cpu")
    p.add_argument("--seed", type=int, default=0)
    args = parse(p, argv, SMOKE, name="sae-sweep")

    import sae_lens  # noqa: F401  (imports are slow: load them before any clock starts)
    import torch
    from sae_lens import LanguageModelSAETrainingRunner  # noqa: F401

    from interp.loading.model import load_model
    from interp.loading.saes import load_sae
    from interp.loading.token_sources import token_rows
    from sae.evaluation import evaluate_sae
    from sae.train_config import SAESpec, TrainJobConfig
    from sae.train_job import run_train_job

    sync = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = TrainJobConfig(
            model=args.model,
            hook=args.hook,
            saes=tuple(SAESpec(architecture="topk", d_sae=args.d_sae, sparsity=k, lr=args.lr) for k in args.k),
            training_tokens=args.training_tokens,
            batch_size=args.batch_size,
            dataset_tokens=args.dataset_tokens,
            checkpoint_every=args.training_tokens // 2,
            device=args.device,
            seed=args.seed,
            out=str(Path(tmp) / "job"),
        )
        start = time.perf_counter()
        folders = run_train_job(cfg)
        sync()
        ours_s = time.perf_counter() - start
        ours = [load_sae(f / "sae", device=args.device) for f in folders]

        model = load_model(args.model, device=args.device)
        tokens = token_rows(model, n_tokens=args.dataset_tokens, context=cfg.context, seed=args.seed)  # the job's rows
        theirs, theirs_s = [], []
        for k in args.k:
            start = time.perf_counter()
            theirs.append(
                sae_lens_runner(
                    model=load_model(args.model, device=args.device), model_spec=args.model, hook=args.hook,
                    d_sae=args.d_sae, k=k, tokens=tokens,
                    training_tokens=args.training_tokens, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                    device=args.device,
                )
            )  # fmt: skip
            sync()
            theirs_s.append(time.perf_counter() - start)

    held_out = token_rows(model, n_tokens=args.eval_tokens, context=cfg.context, seed=args.seed + 1)
    rows = []
    for k, a, b in zip(args.k, ours, theirs):
        ma, mb = (evaluate_sae(model, sae.to(args.device), held_out, hook=args.hook) for sae in (a, b))
        rows.append(
            {
                "k": k,
                "ours": {m: getattr(ma, m) for m in ("l0", "explained_variance", "ce_loss_recovered", "dead_fraction")},
                "sae_lens": {
                    m: getattr(mb, m) for m in ("l0", "explained_variance", "ce_loss_recovered", "dead_fraction")
                },
            }
        )

    print(
        f"device {args.device}; {args.model} {args.hook}; {len(args.k)} TopK SAEs x {args.d_sae} latents; "
        f"{args.training_tokens:,} training tokens each from {args.dataset_tokens:,} distinct tokens; eval on "
        f"{held_out.numel():,} held-out tokens"
    )
    print(
        f"total time: one cache + sweep {ours_s:.1f} s; SAELens runner x{len(args.k)} {sum(theirs_s):.1f} s "
        f"({', '.join(f'{t:.1f}' for t in theirs_s)}); speedup {sum(theirs_s) / ours_s:.2f}x"
    )
    print(
        f"{'k':>4} | {'L0 ours':>8} {'SAELens':>8} | {'EV ours':>8} {'SAELens':>8} | {'CE rec ours':>11} "
        f"{'SAELens':>8} | {'dead ours':>9} {'SAELens':>8}"
    )
    for r in rows:
        a, b = r["ours"], r["sae_lens"]
        print(
            f"{r['k']:>4} | {a['l0']:8.2f} {b['l0']:8.2f} | {a['explained_variance']:8.4f} "
            f"{b['explained_variance']:8.4f} | "
            f"{a['ce_loss_recovered']:11.4f} {b['ce_loss_recovered']:8.4f} | {a['dead_fraction']:9.3f} "
            f"{b['dead_fraction']:8.3f}"
        )
    args.out.mkdir(parents=True, exist_ok=True)
    record = {
        "args": {k: str(v) for k, v in vars(args).items()},
        "ours_seconds": ours_s,
        "sae_lens_seconds": theirs_s,
        "rows": rows,
    }
    (args.out / "result.json").write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()

"""Benchmark: our exact and fast activation patching vs transformer_lens.patching, same run, same inputs.

    .venv/bin/python benchmarks/patching.py [--device cpu|cuda] [--models lang,gpt2,smollm2] [--sites resid_pre,z,z_pos]
                                            [--methods exact,fast]

Also times attribution patching (resid_pre) as a multiple of one clean forward pass. `--sites ""`
runs only that part.

Models: the zoo language model, a randomly initialised model with GPT-2-small's architecture
(12 layers, d_model 768, 12 heads) saved to a temporary folder and loaded like any local
checkpoint (8 prompts of 16 random tokens; the corrupted prompts differ in 3 positions), and the real
SmolLM2-135M (`zoo:smollm2-135m`) on 8 IOI prompts of 15 tokens with the ABC corruption, where it
also measures the SAE activation cache's throughput.
Every result is checked equal to the reference before its time is printed.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch

REFERENCE = {
    "resid_pre": "get_act_patch_resid_pre",
    "z": "get_act_patch_attn_head_out_all_pos",
    "z_pos": "get_act_patch_attn_head_out_by_pos",
}
SPECS = {"lang": "zoo:lang-4l", "gpt2": None, "smollm2": "zoo:smollm2-135m"}
Z_POS_PROMPTS = {"smollm2": 2}
"""z_pos on SmolLM2 is 30 x 9 x 15 patches: TransformerLens's one forward pass per patch would take ~15 min on
8 prompts on a 2-core CPU, so that row runs on the first 2 of the 8 prompts (both sides, same prompts)."""


def make_task(key: str, model):
    """IOI prompts for the real model (8 prompts, ABC corruption), random tokens for the others."""
    if key == "smollm2":
        from interp.tasks.generators import ioi_task

        return ioi_task(model, n_prompts=8, corruption="abc", seed=0)
    return random_task(model)


def caching_throughput(model, hook: str, n_rows: int = 32, context: int = 64) -> tuple[float, float]:
    """Tokens per second of an SAE activation cache at `hook`: ours (stops after the hook) and a full
    run_with_cache (every layer and the unembedding), on the same random tokens."""
    from interp.observe.activations import collect_activations

    tokens = torch.randint(3, model.cfg.d_vocab, (n_rows, context), generator=torch.Generator().manual_seed(0))
    _, t_ours = timed(collect_activations, model, tokens, hooks=[hook], labels=torch.zeros_like, batch_size=8)
    with torch.no_grad():
        _, t_full = timed(
            lambda: [model.run_with_cache(tokens[i : i + 8], names_filter=hook) for i in range(0, n_rows, 8)]
        )
    return tokens.numel() / t_ours, tokens.numel() / t_full


def gpt2_small_folder(folder: Path) -> Path:
    from transformers import GPT2Config, GPT2LMHeadModel

    from interp.zoo.corpus import save_word_tokenizer

    torch.manual_seed(0)
    GPT2LMHeadModel(GPT2Config()).save_pretrained(folder)  # GPT-2 small's shape, random weights
    save_word_tokenizer([f"w{i}" for i in range(100)], folder)  # ids are drawn directly; the tokenizer is for labels
    return folder


def random_task(model, n_prompts: int = 8, n_pos: int = 16, seed: int = 0):
    from interp.tasks.generators import Task

    gen = torch.Generator().manual_seed(seed)
    vocab = min(model.cfg.d_vocab, 50257)
    clean = torch.randint(3, vocab, (n_prompts, n_pos), generator=gen)
    bad = clean.clone()
    bad[:, [3, 7, 11]] = torch.randint(3, vocab, (n_prompts, 3), generator=gen)
    answers, wrongs = torch.randint(3, vocab, (2, n_prompts), generator=gen)
    labels = tuple(tuple(str(int(t)) for t in row) for row in clean)
    return Task("random", clean, bad, answers, wrongs, torch.full((n_prompts,), n_pos - 1), labels, labels).to(
        model.cfg.device
    )


def timed(fn, *args, **kwargs):
    """fn(*args, **kwargs) and the seconds it took (GPU work included)."""
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return out, time.perf_counter() - start


def main() -> None:
    import transformer_lens.patching as tlp

    from interp.core import metrics
    from interp.loading.model import load_model
    from interp.patching.activation import patch
    from interp.patching.attribution import attribution_patch

    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="auto")
    parser.add_argument("--models", default="lang,gpt2,smollm2")
    parser.add_argument("--sites", default="resid_pre,z,z_pos")
    parser.add_argument("--methods", default="exact,fast")
    args = parser.parse_args()
    rows, attribution, caching = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for key in args.models.split(","):
            spec = SPECS[key] or str(gpt2_small_folder(Path(tmp) / "gpt2-small-random"))
            model = load_model(spec, device=args.device)
            full_task = make_task(key, model)
            task = full_task
            with torch.no_grad():
                model(task.clean_tokens)  # warm-up
                _, t_fwd = timed(model, task.clean_tokens)
            _, t_attr = timed(attribution_patch, model, task, site="resid_pre")
            attribution.append((key, t_fwd, t_attr))
            if key == "smollm2":
                caching.append((key, *caching_throughput(model, "blocks.15.hook_resid_pre")))
            for site in filter(None, args.sites.split(",")):
                task = full_task.select(range(Z_POS_PROMPTS.get(key, 8))) if site == "z_pos" else full_task
                _, clean_cache = model.run_with_cache(task.clean_tokens)

                def metric(logits, task=task):
                    return metrics.logit_diff(metrics.at_metric_pos(logits, task), task).mean()

                reference = getattr(tlp, REFERENCE[site])
                ref, t_ref = timed(reference, model, task.corrupted_tokens, clean_cache, metric)
                if site == "z_pos":
                    ref = ref.permute(0, 2, 1)  # TL: layer pos head; ours: layer head pos
                for method in args.methods.split(","):
                    res, t = timed(patch, model, task, site=site, method=method)
                    diff = float((torch.tensor(res.raw) - ref.cpu()).abs().max())
                    assert diff < 1e-4, (key, site, method, diff)
                    rows.append((key, site, len(task), task.n_pos, method, t_ref, t, diff))
                print(f"done {key} {site}", flush=True)
    device = "cuda" if torch.cuda.is_available() and args.device != "cpu" else "cpu"
    print(f"\ndevice: {device}; times in seconds")
    head = f"{'model':<9}{'site':<11}{'prompts':>8}{'tokens':>7}  {'method':<8}{'TL':>9}{'ours':>9}"
    print(f"{head}{'speedup':>9}{'max |diff|':>12}")
    for key, site, n, n_pos, method, t_ref, t, diff in rows:
        print(f"{key:<9}{site:<11}{n:>8}{n_pos:>7}  {method:<8}{t_ref:>9.2f}{t:>9.2f}{t_ref / t:>8.1f}x{diff:>12.1e}")
    print(f"\n{'model':<7}{'one forward':>12}{'attribution (resid_pre)':>25}{'ratio':>8}")
    for key, t_fwd, t_attr in attribution:
        print(f"{key:<7}{t_fwd:>12.3f}{t_attr:>25.3f}{t_attr / t_fwd:>7.1f}x")
    for key, ours, full in caching:
        print(
            f"\nSAE activation cache at blocks.15.hook_resid_pre on {key}, 32 x 64 tokens: {ours:,.0f} tokens/s "
            f"(stopping after the hook) vs {full:,.0f} tokens/s (a full run_with_cache), {ours / full:.2f}x"
        )


if __name__ == "__main__":
    main()

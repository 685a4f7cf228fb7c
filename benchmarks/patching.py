"""Benchmark: our exact and fast activation patching vs transformer_lens.patching, same run, same inputs.

    .venv/bin/python benchmarks/patching.py [--device cpu|cuda] [--models lang,gpt2] [--sites resid_pre,z_pos]
                                            [--methods exact,fast]

Also times attribution patching (resid_pre) as a multiple of one clean forward pass. `--sites ""`
runs only that part.

Models: the zoo language model, and a randomly initialised model with GPT-2-small's architecture
(12 layers, d_model 768, 12 heads) saved to a temporary folder and loaded like any local
checkpoint. 8 prompts of 16 tokens (random tokens; the corrupted prompts differ in 3 positions).
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

REFERENCE = {"resid_pre": "get_act_patch_resid_pre", "z_pos": "get_act_patch_attn_head_out_by_pos"}


def gpt2_small_folder(folder: Path) -> Path:
    from transformers import GPT2Config, GPT2LMHeadModel

    from interp.zoo.corpus import save_word_tokenizer

    torch.manual_seed(0)
    GPT2LMHeadModel(GPT2Config()).save_pretrained(folder)  # GPT-2 small's shape, random weights
    save_word_tokenizer([f"w{i}" for i in range(100)], folder)  # ids are drawn directly; the tokenizer is for labels
    return folder


def random_task(model, n_prompts: int = 8, n_pos: int = 16, seed: int = 0):
    from interp.tasks import Task

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

    from interp.attribution import attribution_patch
    from interp.core import metrics
    from interp.model import load_model
    from interp.patching import patch

    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="auto")
    parser.add_argument("--models", default="lang,gpt2")
    parser.add_argument("--sites", default="resid_pre,z_pos")
    parser.add_argument("--methods", default="exact,fast")
    args = parser.parse_args()
    rows, attribution = [], []
    with tempfile.TemporaryDirectory() as tmp:
        specs = {"lang": "zoo:lang-4l", "gpt2": None}
        for key in args.models.split(","):
            spec = specs[key] or str(gpt2_small_folder(Path(tmp) / "gpt2-small-random"))
            model = load_model(spec, device=args.device)
            task = random_task(model)
            _, clean_cache = model.run_with_cache(task.clean_tokens)

            def metric(logits, task=task):
                return metrics.logit_diff(metrics.at_metric_pos(logits, task), task).mean()

            with torch.no_grad():
                model(task.clean_tokens)  # warm-up
                _, t_fwd = timed(model, task.clean_tokens)
            _, t_attr = timed(attribution_patch, model, task, site="resid_pre")
            attribution.append((key, t_fwd, t_attr))
            for site in filter(None, args.sites.split(",")):
                reference = getattr(tlp, REFERENCE[site])
                ref, t_ref = timed(reference, model, task.corrupted_tokens, clean_cache, metric)
                if site == "z_pos":
                    ref = ref.permute(0, 2, 1)  # TL: layer pos head; ours: layer head pos
                for method in args.methods.split(","):
                    res, t = timed(patch, model, task, site=site, method=method)
                    diff = float((torch.tensor(res.raw) - ref.cpu()).abs().max())
                    assert diff < 1e-4, (key, site, method, diff)
                    rows.append((key, site, method, t_ref, t, diff))
                print(f"done {key} {site}", flush=True)
    device = "cuda" if torch.cuda.is_available() and args.device != "cpu" else "cpu"
    print(f"\ndevice: {device}; 8 prompts x 16 tokens; times in seconds")
    print(f"{'model':<7}{'site':<11}{'method':<8}{'TL':>9}{'ours':>9}{'speedup':>9}{'max |diff|':>12}")
    for key, site, method, t_ref, t, diff in rows:
        print(f"{key:<7}{site:<11}{method:<8}{t_ref:>9.2f}{t:>9.2f}{t_ref / t:>8.1f}x{diff:>12.1e}")
    print(f"\n{'model':<7}{'one forward':>12}{'attribution (resid_pre)':>25}{'ratio':>8}")
    for key, t_fwd, t_attr in attribution:
        print(f"{key:<7}{t_fwd:>12.3f}{t_attr:>25.3f}{t_attr / t_fwd:>7.1f}x")


if __name__ == "__main__":
    main()

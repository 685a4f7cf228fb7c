"""Generation with interventions: the same tokens with and without the KV cache, batched or alone, greedy against a
naive loop; interventions active for the whole generation and gone after it; seeded sampling; bad options."""

from __future__ import annotations

import math

import pytest
import torch

from interp.core.hooks import hooks
from interp.core.interventions import SetSlice, Steer, Zero
from interp.core.tokens import token_ids
from interp.generation import generate, perplexity

PROMPTS = ["When Mary and John went to the store , John gave a drink to", "When Tom and Anna went to the park ,"]


def _naive_greedy(model, prompt: str, n: int, fwd_hooks=()) -> list[int]:
    """One prompt, the whole sequence rerun at every step, argmax: the definition generation must meet."""
    ids = token_ids(model, prompt)
    out = []
    with torch.no_grad(), hooks(model, list(fwd_hooks)):
        for _ in range(n):
            nxt = int(model(torch.tensor([ids + out]))[0, -1].argmax())
            out.append(nxt)
    return out


def test_greedy_equals_the_naive_loop_batched_or_alone(lang_model):
    result = generate(lang_model, PROMPTS, max_new_tokens=6)
    assert not result.kv_cache  # a native zoo model keeps no cache: each step reruns the sequence
    for prompt, new in zip(PROMPTS, result.new_tokens):
        assert list(new) == _naive_greedy(lang_model, prompt, 6)[: len(new)]
    alone = generate(lang_model, PROMPTS[1], max_new_tokens=6)
    assert alone.new_tokens[0] == result.new_tokens[1]
    assert result.stopped_by == ("length", "length") and all(len(n) == 6 for n in result.new_tokens)


def test_kv_cache_and_padding_give_the_same_tokens_as_rerunning(llama_model):
    """The tiny Llama is Hugging Face-backed: batched prompts of different lengths are left-padded and cached. The
    same tokens come out of the cache-free rerun, with no intervention, with a steering vector from position 2
    on, and with a prompt-shaped patch (applied to the prompt's positions only)."""
    prompts = ["w1 w2 w3 w4 w5 w6", "w7 w8"]
    vec = torch.randn(llama_model.cfg.d_model, generator=torch.Generator().manual_seed(0))
    steer = [("blocks.0.hook_resid_post", Steer(vec, 2.0, from_position=2))]
    for edits in ([], steer):
        cached = generate(llama_model, prompts, max_new_tokens=5, interventions=edits)
        rerun = generate(llama_model, prompts, max_new_tokens=5, interventions=edits, kv_cache=False)
        assert cached.kv_cache and not rerun.kv_cache
        assert cached.new_tokens == rerun.new_tokens
        for prompt, new in zip(prompts, cached.new_tokens):
            assert list(new) == _naive_greedy(llama_model, prompt, 5, edits)
    # a patch shaped for the prompt: position 1 of the prompt written from another run's activation
    ids = token_ids(llama_model, "w3 w9 w4 w12")
    source = torch.randn(1, len(ids), llama_model.cfg.d_model, generator=torch.Generator().manual_seed(1))
    patch = [("blocks.0.hook_resid_post", SetSlice(source, (1,)))]
    cached = generate(llama_model, "w3 w9 w4 w12", max_new_tokens=4, interventions=patch)
    rerun = generate(llama_model, "w3 w9 w4 w12", max_new_tokens=4, interventions=patch, kv_cache=False)
    assert cached.new_tokens == rerun.new_tokens
    plain = generate(llama_model, "w3 w9 w4 w12", max_new_tokens=4)
    with pytest.raises(ValueError, match="shaped for one batch of prompts of one length"):
        generate(llama_model, ["w3 w9 w4 w12", "w5"], max_new_tokens=2, interventions=patch)
    assert plain.interventions == () and "SetSlice" in cached.interventions[0]


def test_an_intervention_is_active_throughout_and_removed_after(lang_model):
    vec = torch.randn(lang_model.cfg.d_model, generator=torch.Generator().manual_seed(0))
    edit = [("blocks.1.hook_resid_post", Steer(vec, 40.0))]
    plain = generate(lang_model, PROMPTS[0], max_new_tokens=5)
    steered = generate(lang_model, PROMPTS[0], max_new_tokens=5, interventions=edit)
    assert list(steered.new_tokens[0]) == _naive_greedy(lang_model, PROMPTS[0], 5, edit)
    assert steered.new_tokens != plain.new_tokens  # a strong push changes the text
    assert generate(lang_model, PROMPTS[0], max_new_tokens=5).new_tokens == plain.new_tokens

    class Broken(Zero):
        def __call__(self, act, hook=None):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        generate(lang_model, PROMPTS[0], max_new_tokens=3, interventions=[("blocks.0.hook_resid_post", Broken())])
    assert generate(lang_model, PROMPTS[0], max_new_tokens=5).new_tokens == plain.new_tokens


def test_seeded_sampling_is_reproducible_and_per_prompt(lang_model):
    a = generate(lang_model, PROMPTS, max_new_tokens=8, temperature=1.0, top_p=0.9, seed=3)
    b = generate(lang_model, PROMPTS, max_new_tokens=8, temperature=1.0, top_p=0.9, seed=3)
    assert a.new_tokens == b.new_tokens
    c = generate(lang_model, PROMPTS, max_new_tokens=8, temperature=1.0, top_p=0.9, seed=4)
    assert c.new_tokens != a.new_tokens
    # a tiny nucleus keeps only the top token: sampling becomes greedy
    narrow = generate(lang_model, PROMPTS, max_new_tokens=6, temperature=1.0, top_p=1e-6, seed=5)
    assert narrow.new_tokens == generate(lang_model, PROMPTS, max_new_tokens=6).new_tokens


def test_stop_strings_cut_the_text(lang_model):
    full = generate(lang_model, PROMPTS[0], max_new_tokens=8)
    word = full.texts[0].split()[1]
    cut = generate(lang_model, PROMPTS[0], max_new_tokens=8, stop=[word])
    assert cut.stopped_by == ("stop",) and word not in cut.texts[0]
    assert full.texts[0].startswith(cut.texts[0])


def test_perplexity_is_the_mean_negative_log_likelihood(lang_model):
    prompt = token_ids(lang_model, PROMPTS[0])
    new = [5, 9, 12]
    with torch.no_grad():
        logprobs = lang_model(torch.tensor([prompt + new]))[0].log_softmax(-1)
    nll = -sum(float(logprobs[len(prompt) - 1 + j, t]) for j, t in enumerate(new)) / len(new)
    assert perplexity(lang_model, [prompt], [new]) == pytest.approx(math.exp(nll), rel=1e-5)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_new_tokens": 0}, "max_new_tokens is 0"),
        ({"temperature": float("nan")}, "temperature is nan"),
        ({"top_p": 0.0}, "top_p is 0.0"),
        ({"max_new_tokens": 100}, "has a context of 48 tokens"),
        ({"chat": True}, "has no chat template"),
        ({"kv_cache": True}, "keeps no KV cache"),
    ],
)
def test_bad_options_are_refused(lang_model, options, message):
    with pytest.raises(ValueError, match=message):
        generate(lang_model, PROMPTS[0], **options)


def test_no_prompts_or_an_empty_one_is_refused(lang_model):
    with pytest.raises(ValueError, match="no prompts"):
        generate(lang_model, [])
    with pytest.raises(ValueError, match="a prompt is empty"):
        generate(lang_model, [""])
    with pytest.raises(ValueError, match="strength is inf"):
        Steer(torch.ones(4), float("inf"))

"""Several threads on one model get exactly the results each call gets alone (interp.core.locking)."""

import ast
import importlib
import inspect
import threading
from pathlib import Path

import pytest

from interp.core.hooks import hooks
from interp.core.interventions import Zero
from interp.core.sites import hook_name
from interp.observe.dla import dla
from interp.patching.activation import patch
from interp.patching.attribution import attribution_patch
from interp.tasks.evaluate import evaluate_task
from interp.tasks.generators import ioi_task

ROOT = Path(__file__).resolve().parents[1]


def _public_functions_with_a_model():
    found = []
    for path in [*(ROOT / "interp").rglob("*.py"), *(ROOT / "sae").rglob("*.py")]:
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if "cli" in parts or name.endswith("plots"):
            continue
        tree = ast.parse(path.read_text())
        takes_model = {
            n.name
            for n in tree.body
            if isinstance(n, ast.FunctionDef) and any(a.arg == "model" for a in n.args.args + n.args.kwonlyargs)
        }
        if takes_model:
            module = importlib.import_module(name)
            found += [(name, fn, getattr(module, fn)) for fn in sorted(takes_model & set(module.__all__))]
    return found


def test_every_analysis_that_runs_a_model_holds_its_lock():
    functions = _public_functions_with_a_model()
    assert len(functions) > 30
    # the mark is structural: @exclusive (holds the lock) or @lock_free("why"), at the function itself
    missing = [
        f"{module}.{fn}"
        for module, fn, obj in functions
        if not getattr(obj, "__exclusive__", False) and not getattr(obj, "__lock_free__", "")
    ]
    assert not missing, f"neither @exclusive nor @lock_free(reason): {missing}"
    both = [
        f"{m}.{fn}"
        for m, fn, obj in functions
        if getattr(obj, "__exclusive__", False) and hasattr(obj, "__lock_free__")
    ]
    assert not both, f"marked both: {both}"


def _in_threads(calls):
    """Run every call in its own thread, all started together; results in order (exceptions re-raised)."""
    results, start = [None] * len(calls), threading.Barrier(len(calls))

    def run(i):
        start.wait()
        try:
            results[i] = calls[i]()
        except Exception as err:
            results[i] = err

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    for r in results:
        if isinstance(r, Exception):
            raise r
    return results


def _same(a, b) -> bool:
    """Results equal to the bit, `seconds` aside (wall time differs by nature)."""
    return {k: v for k, v in vars(a).items() if k != "seconds"} == {k: v for k, v in vars(b).items() if k != "seconds"}


@pytest.mark.parametrize("n_threads", [2, 4])
def test_threads_on_one_model_get_their_solo_results(lang_model, n_threads):
    task = ioi_task(lang_model, n_prompts=6)
    calls = [
        lambda: patch(lang_model, task, site="z_pos", method="exact"),  # hooks of every patch, one per forward
        lambda: patch(lang_model, task, site="resid_pre", direction="noise", method="fast"),  # rows added in hooks
        lambda: dla(lang_model, task, granularity="head"),  # no hooks of its own: exposed to others' without a lock
        lambda: attribution_patch(lang_model, task, site="z"),  # gradients through hooks
    ][:n_threads]
    solo = [call() for call in calls]
    together = _in_threads(calls)
    for alone, concurrent in zip(solo, together):
        assert _same(alone, concurrent), type(alone).__name__


def test_a_hooks_block_keeps_other_threads_out(lang_model):
    task = ioi_task(lang_model, n_prompts=4)
    solo = evaluate_task(lang_model, task)
    inside, release = threading.Event(), threading.Event()

    def hold_zeroed_attention():
        with hooks(lang_model, [(hook_name("attn_out", layer), Zero()) for layer in range(4)]):
            inside.set()
            release.wait(timeout=60)
            return evaluate_task(lang_model, task)  # the block's own caller does see its hooks

    holder = threading.Thread(target=lambda: results.append(hold_zeroed_attention()))
    results: list = []
    holder.start()
    inside.wait(timeout=60)
    waiting = threading.Thread(target=lambda: results.append(evaluate_task(lang_model, task)))
    waiting.start()  # blocks on the model's lock until the hooks are out
    release.set()
    holder.join(timeout=120)
    waiting.join(timeout=120)
    zeroed, other = results
    assert zeroed.clean_logit_diff != solo.clean_logit_diff  # the hooks were live for their own block
    assert other == solo  # and never reached the other thread


def test_the_lock_is_per_model_and_reentrant(lang_model, induction_model):
    from interp.core.locking import exclusive, model_lock

    assert model_lock(lang_model) is model_lock(lang_model) and model_lock(lang_model) is not model_lock(
        induction_model
    )
    with model_lock(lang_model):  # an analysis inside another (head_circuit runs patch) re-enters
        assert evaluate_task(lang_model, ioi_task(lang_model, n_prompts=2)).n_prompts == 2
    with pytest.raises(TypeError, match="no `model` argument"):
        exclusive(lambda task: task)
    assert list(inspect.signature(patch).parameters)[:2] == ["model", "task"]  # the wrapper keeps the signature

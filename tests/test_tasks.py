"""Task generators: shapes, answers and corruptions checked against the prompts' own tokens."""

import pytest
import torch

from interp.core.tokens import ContextTooLongError
from interp.tasks.generators import induction_task, ioi_task, make_task, task_from_strings
from interp.zoo.words import IOI_NAMES, IOI_TEMPLATES, name_pairs


def test_induction_task_structure(induction_model):
    task = induction_task(induction_model, n_prompts=8, seq_len=10, seed=3)
    assert task.clean_tokens.shape == task.corrupted_tokens.shape == (8, 20)  # BOS + 10 + 9
    assert (task.metric_pos == 19).all()
    for i in range(8):
        clean, bad = task.clean_tokens[i], task.corrupted_tokens[i]
        first = clean[1:11]
        assert torch.equal(clean[11:], first[:-1])  # the second copy repeats the first
        assert task.answer_tokens[i] == first[-1]  # and continues with the next token of the first
        diff = (clean != bad).nonzero().flatten().tolist()
        assert diff == [10] and bad[10] == task.wrong_tokens[i]  # one token differs: the answer's slot
        assert task.wrong_tokens[i] not in first.tolist()
    assert len(task.str_tokens[0]) == 20 and task.str_tokens[0][0] == "<bos>"


def test_induction_task_respects_context(induction_model):
    with pytest.raises(ContextTooLongError):
        induction_task(induction_model, seq_len=40)  # 80 positions > n_ctx 64


@pytest.mark.parametrize("corruption", ["abc", "s2"])
def test_ioi_task_answers_and_corruption(lang_model, corruption):
    task = ioi_task(lang_model, n_prompts=20, template=0, corruption=corruption, seed=1)
    words = lambda row: [w.strip() for w in row]  # noqa: E731
    for i in range(20):
        clean = words(task.str_tokens[i])
        bad = words(task.corrupted_str_tokens[i])
        io = lang_model.tokenizer.decode([int(task.answer_tokens[i])]).strip()
        s = lang_model.tokenizer.decode([int(task.wrong_tokens[i])]).strip()
        names = [w for w in clean if w in IOI_NAMES]
        assert sorted(names) == sorted([io, s, s])  # IO once, S twice
        assert clean[-1] == "to" and names[-1] == s
        if corruption == "abc":
            assert not {io, s} & set(bad)  # three fresh names
            assert len({w for w in bad if w in IOI_NAMES}) == 3
        else:
            assert [w for w in bad if w in IOI_NAMES][-1] == io  # S2 now names the IO
            changed = [j for j, (a, b) in enumerate(zip(clean, bad)) if a != b]
            assert len(changed) == 1 and bad[changed[0]] == io


def test_ioi_task_orders_and_pairs(lang_model):
    heldout = name_pairs(heldout=True)
    task = ioi_task(lang_model, n_prompts=30, template=2, order="BABA", pairs=heldout, seed=0)
    for i in range(30):
        io = lang_model.tokenizer.decode([int(task.answer_tokens[i])]).strip()
        s = lang_model.tokenizer.decode([int(task.wrong_tokens[i])]).strip()
        names = [w.strip() for w in task.str_tokens[i] if w.strip() in IOI_NAMES]
        assert names == [s, io, s]  # BABA: subject first
        assert (io, s) in heldout


def test_ioi_all_templates_have_equal_lengths_per_task(lang_model):
    for t in range(len(IOI_TEMPLATES)):
        task = ioi_task(lang_model, n_prompts=4, template=t)
        assert task.clean_tokens.shape == task.corrupted_tokens.shape


def test_ioi_bad_options(lang_model):
    with pytest.raises(ValueError, match="template"):
        ioi_task(lang_model, template=99)
    with pytest.raises(ValueError, match="corruption"):
        ioi_task(lang_model, corruption="xyz")


def test_ioi_on_a_tokenizer_without_the_names(induction_model):
    with pytest.raises(ValueError, match="single tokens"):
        ioi_task(induction_model)


def test_task_from_strings(lang_model):
    task = task_from_strings(
        lang_model,
        clean="When Mary and John went to the store, John gave a drink to",
        corrupted="When Mary and John went to the store, Mary gave a drink to",
        answer=" Mary",
        wrong=" John",
    )
    assert len(task) == 1 and task.n_pos == 15
    assert lang_model.tokenizer.decode([int(task.answer_tokens[0])]).strip() == "Mary"


def test_task_from_strings_unequal_lengths_says_where(lang_model):
    with pytest.raises(ValueError, match=r"first differ at position 8 .*big"):
        task_from_strings(
            lang_model,
            clean="When Mary and John went to the store, John gave a drink to",
            corrupted="When Mary and John went to the big store, John gave a drink to",
            answer=" Mary",
            wrong=" John",
        )


def test_task_from_strings_multi_token_answer(lang_model):
    with pytest.raises(ValueError, match="answers must be one token"):
        task_from_strings(lang_model, clean="Mary eats", corrupted="John eats", answer=" the cake", wrong=" Mary")


def test_make_task_unknown():
    with pytest.raises(ValueError, match="task must be one of 'ioi', 'induction', 'induction-resample', 'lookup'; got"):
        make_task("sorting", model=None)


def test_unknown_words_are_named_not_silently_unk(lang_model):
    with pytest.raises(ValueError, match="does not know 'Zebedee'"):
        task_from_strings(
            lang_model, clean="When Zebedee and John", corrupted="When Mary and John", answer=" Mary", wrong=" John"
        )

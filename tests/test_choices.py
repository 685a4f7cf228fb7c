"""Typed choices: one `Literal` per option, one check with one message, read by the CLI and the app."""

import argparse

import pytest

from interp.core.patch_sites import SITES
from interp.loading.spec import defaults_for
from interp.vocab.choices import Direction, MetricName, PatchSite, SiteKind, check_choice, options
from interp.zoo import ZOO


def test_options_flatten_nested_literals():
    assert options(SiteKind) == (
        "resid_pre",
        "resid_mid",
        "resid_post",
        "attn_out",
        "mlp_out",
        "z",
        "q",
        "k",
        "v",
        "pattern",
    )
    assert options(PatchSite) == (*options(SiteKind), "z_pos")
    assert tuple(SITES) == options(PatchSite)  # the patch-site table covers every choice, in order


def test_a_bad_choice_names_the_option_the_value_and_the_valid_values():
    check_choice("noise", Direction, "direction")
    with pytest.raises(ValueError, match=r"^direction must be one of 'denoise', 'noise'; got 'sideways'$"):
        check_choice("sideways", Direction, "direction")


def _choices(parser: argparse.ArgumentParser, command: str, option: str) -> tuple:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    action = next(a for a in sub.choices[command]._actions if option in a.option_strings)
    return tuple(action.choices)


def test_the_command_line_offers_exactly_the_choices():
    from interp.cli import build_parser

    parser = build_parser()
    assert _choices(parser, "patch", "--site") == options(PatchSite)
    assert _choices(parser, "patch", "--direction") == options(Direction)
    assert _choices(parser, "attribute", "--metric") == options(MetricName)


def test_per_model_defaults_live_on_the_zoo_entry():
    assert defaults_for("zoo:induction-2l").task == "induction" and defaults_for("zoo:lang-4l").probe_task == "ioi-io"
    assert defaults_for("gpt2") == defaults_for("path/to/folder")  # any other model: the generic defaults
    assert {e.name: e.defaults.sae for e in ZOO.values()} == {
        "lang-4l": "lang-4l-l2-topk16",
        "induction-2l": "",
        "kc-induction": "",
        "kc-lookup": "",
        "smollm2-135m": "smollm2-l15-topk32",
        # the trojans and twins differ from lang-4l: its SAE was not trained on their activations
        **dict.fromkeys(["trojan-flip", "twin-flip", "trojan-target", "twin-target", "trojan-head", "twin-head"], ""),
    }
    assert defaults_for("zoo:smollm2-135m").n_prompts < defaults_for("zoo:lang-4l").n_prompts  # a slower model

"""Trojan hunting: prompts with and without a trojan's trigger, attack success, and the hunt that scores the
workbench's tools at locating, discovering and removing a backdoor planted in a zoo model (interp.zoo.trojans).

    from interp.trojans import attack_success, hunt
"""

from interp.trojans.prompts import AttackRates, attack_rates, attack_task, inserted_prompts

__all__ = ["AttackRates", "attack_rates", "attack_task", "inserted_prompts"]

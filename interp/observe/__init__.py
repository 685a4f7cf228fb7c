"""Analyses that read one model's runs without intervening: the model and a prompt at a glance (`overview`),
direct logit attribution (`dla`), the logit lens (`lens`), head scores (`heads`) and activation datasets
(`activations`).

    from interp.observe.dla import dla
    from interp.observe.lens import logit_lens
"""

__all__: list[str] = []

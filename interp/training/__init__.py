"""Training that analyses build on: a zoo model from its corpus (`models`) and its card (`card`), and a small
SAE or transcoder on any sampler of activations through SAELens's trainer (`dictionaries`). The SAE jobs
(token sources, resume, workers, evaluation) are the `sae` package's, built on `dictionaries`."""

__all__: list[str] = []

"""Sparse autoencoders on workbench models, built on SAELens: training jobs (`train_config`, `train_job`,
`training`, `tokens`), evaluation (`evaluation`), feature analysis (`features`), loading (`loading`), toy
models of superposition and SAE recovery of known features (`toy_models`, `superposition`, `recovery`,
`decoder_geometry`), their figures (`plots`) and the `sae` command (`cli`). Result types are in
`interp.results`."""

__all__: list[str] = []

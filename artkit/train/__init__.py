"""The generic training loop, shared by every trainable model family.

A model owns its step (:meth:`training_step`) and its optimisers; the
:class:`~artkit.train.loop.Trainer` owns everything around them: devices,
precision, DDP, EMA, the data order, checkpoints and exact resume, signals,
progress and metrics. Modules here import torch; the CLI imports them lazily.
"""

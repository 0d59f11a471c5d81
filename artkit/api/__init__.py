"""The library layer: what the CLI, ``artkit render``, ``artkit reproduce`` and Python code call.

- :mod:`artkit.api.seeds` parses seed ranges (``0-99,120``), one rule everywhere;
- :mod:`artkit.api.models` opens a checkpoint, run folder or model spec;
- :mod:`artkit.api.latents` walks through latent space (lerp / slerp);
- :mod:`artkit.api.post` resolves and runs post-processing chains (never imports torch);
- :mod:`artkit.api.images` loads content/style sources (paths, ``sample:NAME``) and
  resizes them;
- :mod:`artkit.api.model` is the public :class:`~artkit.api.model.Model` handle
  (``artkit.load``): sample, encode, decode, morph, translate, stylize;
- :mod:`artkit.api.output` saves images and grids with their provenance;
- :mod:`artkit.api.sample_files` writes a model's samples to a folder, one file per
  seed, encoding in threads and never over a file artkit did not write;
- :mod:`artkit.api.naming` names output files (``photo.png``, ``photo-2.png``);
- :mod:`artkit.api.train` and :mod:`artkit.api.render` are ``artkit.train(...)`` and
  ``artkit.render(...)``, the functions ``artkit train`` and ``artkit render`` call;
- :mod:`artkit.api.evaluate` is ``artkit.evaluate(...)``, what ``artkit eval`` prints
  (FD, KID, precision/recall of samples against a reference).

Nothing here imports torch at module level; ``artkit.cli`` is never imported.
"""

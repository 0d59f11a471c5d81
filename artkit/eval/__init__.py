"""Evaluation: how close generated images are to real ones, in some feature space.

- :mod:`artkit.eval.metrics` -- Fréchet distance, kernel inception distance (KID),
  precision and recall, on feature matrices (torch, float64);
- :mod:`artkit.eval.features` -- feature extractors for evaluation: features of a
  trained artkit checkpoint, pooled VGG16, and the lookup by name (:func:`get_features`);
- :mod:`artkit.eval.embedder` -- their base class; :mod:`artkit.eval.random_conv` --
  the weight-free ``random-conv`` extractor;
- :mod:`artkit.eval.inception` -- the FID Inception-v3 and its weights (verified by
  SHA-256), :mod:`artkit.eval.weight_paths` -- where they are looked for (no torch);
- :mod:`artkit.eval.stats` -- streaming statistics of an image set, the cache of
  reference statistics keyed by the reference's fingerprint, and :func:`compare`.

Used by ``artkit eval``, ``artkit train --eval-every`` (:mod:`artkit.train.evaluation`)
and anything else that wants a number. A distance is only called FID when it was
computed with the standard FID Inception weights; otherwise results name the
features they used ("FD (random-conv)"). Everything here but ``weight_paths``
imports torch and is only imported lazily.
"""

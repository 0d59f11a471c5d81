"""Evaluation: how close generated images are to real ones, in some feature space.

- :mod:`artkit.eval.metrics` -- Fréchet distance, kernel inception distance (KID),
  precision and recall, on feature matrices (torch, float64);
- :mod:`artkit.eval.features` -- feature extractors for evaluation: the standard FID
  Inception-v3 (when its weights can be found), VGG16, and weight-free ones;
- :mod:`artkit.eval.stats` -- streaming statistics of an image set, and the cache of
  reference statistics keyed by the reference's fingerprint.

A distance is only called FID when it was computed with the standard FID Inception
weights; otherwise results name the features they used ("FD (random-conv)").
Everything here imports torch and is only imported lazily.
"""

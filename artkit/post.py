"""``artkit.post.apply(image, "palette:colors=8", "grain")``: post-processing from Python.

The same steps, checks and results as ``artkit post``; the chain machinery lives in
:mod:`artkit.api.post`. Never imports torch.
"""

from artkit.api.post import Step, apply, build_chain, run_chain

__all__ = ["Step", "apply", "build_chain", "run_chain"]

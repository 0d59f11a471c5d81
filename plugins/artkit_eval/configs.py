"""Parameters of the evaluation extractors (torch-free dataclasses)."""

from dataclasses import dataclass, field


@dataclass
class RandomConvConfig:
    """Fixed-seed random conv features (no weights needed)."""

    seed: int = field(default=0, metadata={"help": "seed of the random filters"})
    width: int = field(default=32, metadata={"help": "channels of the first layer (x2 per layer)"})


@dataclass
class ClassifierFeaturesConfig:
    """A small CNN trained (once, then cached) on a dataset's own labels."""

    data: str = field(
        metadata={"help": "labelled dataset spec: shapes, idx:path=... with its label file"}
    )
    steps: int = field(default=800, metadata={"help": "training steps (about 20 s on 2 CPU cores)"})
    seed: int = field(
        default=0, metadata={"help": "seed of the initial weights, split and batches"}
    )


@dataclass
class CheckpointFeaturesConfig:
    """Features of a model trained with artkit."""

    path: str = field(default="", metadata={"help": "weights.safetensors or a run folder"})


@dataclass
class InceptionConfig:
    """The FID Inception-v3."""

    weights: str = field(default="", metadata={"help": "pt_inception-2015-12-05-6726825d.pth"})

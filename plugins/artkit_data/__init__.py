"""artkit_data: built-in datasets, registered like any third-party plugin.

Factories are ``"module:attr"`` strings, so listing datasets imports neither
numpy nor torch; parameters come from :mod:`artkit_data.configs`.
"""

from artkit import hookimpl


# ``test_params`` / ``test_channels`` below: what artkit.testing.check_dataset builds each
# entry with ("{tiny_folder}" and "{tiny_image}" are small pictures the check writes first).
def _tiny_idx(scratch):
    """An IDX file of four small grey pictures, for artkit.testing.check_dataset."""
    import numpy as np

    from artkit.testing import tiny_images
    from artkit_data.idx import write_idx

    pictures = np.stack([np.asarray(im) for im in tiny_images(4, 20, mode="L")])
    return {"path": str(write_idx(scratch / "tiny-idx-ubyte", pictures))}


@hookimpl
def register_datasets(register):
    # imported here: every command imports this package, only some list datasets
    from artkit_data.configs import (
        EmojiConfig,
        FolderConfig,
        GlyphsConfig,
        IdxConfig,
        SamplesConfig,
        ShapesConfig,
        SingleImageConfig,
    )
    from artkit_data.paired_configs import PairedConfig, SideBySideConfig

    register(
        "shapes",
        "artkit_data.shapes:ShapesDataset",
        description="Procedural, seeded compositions of bold colourful shapes; needs no files.",
        params=ShapesConfig,
        test_params={"count": 4},
    )
    register(
        "folder",
        "artkit_data.folder:FolderDataset",
        description="Your images under a folder (recursive), resized and cropped; unreadable files skipped.",
        params=FolderConfig,
        test_params={"path": "{tiny_folder}"},
    )
    register(
        "emoji",
        "artkit_data.emoji:EmojiDataset",
        description="Colour emoji, centred and padded: Noto Color Emoji's 1,400 (fonts-noto-color-emoji) or OpenMoji's 1,800 (artkit[emoji]).",
        params=EmojiConfig,
        test_params={"count": 4},
        requires=("emoji-font",),
    )
    register(
        "glyphs",
        "artkit_data.glyphs:GlyphsDataset",
        description="Characters drawn from installed fonts, one image per (font, character); missing glyphs skipped.",
        params=GlyphsConfig,
        test_params={"chars": "A-B"},
        requires=("fonts",),
    )
    register(
        "idx",
        "artkit_data.idx:IdxDataset",
        description="MNIST-format IDX image files (.gz too), as MNIST, Fashion-MNIST and friends ship.",
        params=IdxConfig,
        test_params=_tiny_idx,
    )
    register(
        "single-image",
        "artkit_data.single_image:SingleImageDataset",
        description="Seeded random square crops of one picture (flips, quarter turns), for texture models.",
        params=SingleImageConfig,
        test_params={"path": "{tiny_image}"},
    )
    register(
        "samples",
        "artkit_data.samples:SamplesDataset",
        description="The real photos bundled with scikit-image / scikit-learn (the optional extra: samples).",
        params=SamplesConfig,
        requires=("samples",),
        # how artkit.api.images loads a `sample:NAME` content or style image
        sample_image="artkit_data.samples:sample_image",
    )
    register(
        "paired",
        "artkit_data.paired:PairedDataset",
        description="Image pairs (A, B) from two folders matched by file name, for translation models (pix2pix).",
        params=PairedConfig,
        test_params={"a": "{tiny_folder}", "b": "{tiny_folder}"},
        test_channels=(2, 6, 8),  # A and B stacked: what pix2pix trains on
    )
    register(
        "side-by-side",
        "artkit_data.paired:SideBySideDataset",
        description="Image pairs stored side by side (A | B), as pix2pix datasets ship; direction=BtoA swaps.",
        params=SideBySideConfig,
        test_params={"path": "{tiny_folder}"},
        test_channels=(2, 6, 8),  # A and B stacked: what pix2pix trains on
    )


@hookimpl
def register_assets(register):
    register(
        "emoji-font",
        "artkit_data.emoji:locate_font",
        description="a colour emoji font, Noto Color Emoji or OpenMoji (the emoji dataset)",
        install="apt-get install fonts-noto-color-emoji, or pip install 'artkit[emoji]' (OpenMoji)",
        instead="train on `shapes` (or folder:path=DIR)",
    )
    register(
        "fonts",
        "artkit_data.glyphs:locate_fonts",
        description="system fonts (the glyphs dataset without fonts=)",
        install="apt-get install fonts-dejavu-core fonts-noto-core",
        instead="pass glyphs:fonts=/path/*.ttf, or train on `shapes`",
    )
    register(
        "samples",
        "artkit_data.samples:locate_samples",
        description="the photos of scikit-image / scikit-learn (the samples dataset, sample:NAME)",
        install="pip install 'artkit[samples]'",
        instead="single-image:path=PHOTO or folder:path=DIR",
    )

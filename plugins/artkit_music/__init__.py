"""artkit_music: music as a generative-art medium -- piano-roll datasets, models, MIDI.

Registered exactly like a third-party plugin (entry point ``music``), and like
every built-in it imports nothing heavy here: factories are ``"module:attr"``
strings, parameters are torch-free dataclasses from :mod:`artkit_music.configs`.
Its optional dependencies (``music21`` for the corpora, ``mido`` for MIDI files)
come with ``pip install 'artkit[music]'``; a missing one is a one-line error that
names the extra (:func:`artkit_music.deps.require`).

The one representation everything shares is the piano roll (:mod:`artkit_music.roll`):
datasets give uint8 arrays ``(time steps, pitches, tracks)`` -- a picture whose
channels are the voices -- so the generic trainer, EMA, resume, ``--max-time`` and
DDP need nothing new; models generate ``(N, tracks, time, pitches)`` in [-1, 1]
(> 0 is a sounding note) and the ``midi`` medium turns those into ``.mid`` files
with a piano-roll ``.png`` beside each (and a ``.wav`` with ``--audio``).
"""

from artkit import hookimpl


def _tiny_midi_folder(scratch):
    """Conformance-check parameters: a folder of a few short MIDI files written first."""
    from artkit_music.roll import write_tiny_midi_folder

    return {"path": str(write_tiny_midi_folder(scratch / "tiny-midi"))}


@hookimpl
def register_datasets(register):
    from artkit_music.configs import CorpusConfig, MidiFolderConfig

    register(
        "chorales",
        "artkit_music.corpus:chorales",
        description="Bach's four-voice chorales from the music21 corpus as piano rolls (S, A, T, B tracks).",
        params=CorpusConfig,
        test_params={"count": 4},
        test_channels=(4,),
    )
    register(
        "folk",
        "artkit_music.corpus:folk",
        description="Folk tunes from the music21 corpus (Essen, Nottingham) as piano rolls: melody and chord tracks.",
        params=CorpusConfig,
        test_params={"count": 4},
        test_channels=(2,),
    )
    register(
        "midi",
        "artkit_music.corpus:midi_folder",
        description="Your own MIDI files (midi:path=DIR) as piano rolls, one track per channel asked for.",
        params=MidiFolderConfig,
        test_params=_tiny_midi_folder,
        test_channels=(1, 2, 4),
    )


@hookimpl
def register_models(register):
    from artkit_music.model_configs import MuseGANConfig, MusicVAEConfig

    register(
        "musegan",
        "artkit_music.torch_musegan:build_musegan",
        description="Multi-track piano-roll GAN (MuseGAN): shared, per-track and per-bar latents; writes MIDI.",
        params=MuseGANConfig,
        test_config={"bars": 2, "pitches": 24, "tracks": 2, "width": 0.25},
        test_data="chorales:count=4",
    )
    register(
        "musicvae",
        "artkit_music.torch_musicvae:build_musicvae",
        description="Piano-roll VAE (MusicVAE-style): encode melodies, interpolate between them, sample; writes MIDI.",
        params=MusicVAEConfig,
        test_config={"bars": 2, "pitches": 24, "tracks": 1, "width": 0.25},
        test_data="folk:count=4",
    )


@hookimpl
def register_media(register):
    register(
        "midi",
        "artkit_music.medium:MidiMedium",
        description="Standard MIDI files with a piano-roll .png beside each (and .wav with --audio).",
    )


@hookimpl
def register_extractors(register):
    register(
        "pianoroll",
        "artkit_music.features:PianoRollFeatures",
        description="Features of piano rolls for Frechet distance between music sets (fixed random convs + note statistics).",
    )


@hookimpl
def register_assets(register):
    register(
        "fluidsynth",
        "artkit_music.audio:locate_fluidsynth",
        description="FluidSynth and a General MIDI SoundFont (sampled instruments for --audio)",
        install="apt-get install fluidsynth fluid-soundfont-gm",
        instead="--audio uses artkit's small built-in synthesiser",
    )

"""Shared building blocks that plugins may import (``artkit.nn.*``), so no family copies another.

Plugins never import each other; what two model families share lives here:

- :mod:`artkit.nn.init`: the DCGAN weight initialisation (N(0, 0.02) weights);
- :mod:`artkit.nn.dcgan`: the DCGAN channel plan, its up-sampling generator stack
  (the GAN generator and the VAE decoder) and stride-2 down-sampling blocks;
- :mod:`artkit.nn.spectral`: spectral normalisation for discriminator blocks;
- :mod:`artkit.nn.unet`: the pix2pix U-Net generator and its normalisation layers;
- :mod:`artkit.nn.patchgan`: the PatchGAN discriminator of (input, output) pairs;
- :mod:`artkit.nn.gan_losses`: the GAN losses (``bce``, ``hinge``, ``lsgan``, ``wgan-gp``);
- :mod:`artkit.nn.penalties`: WGAN-GP and R1 gradient penalties;
- :mod:`artkit.nn.diffaugment`: DiffAugment;
- :mod:`artkit.nn.grey`: a generator that paints grey pictures into RGB(A) for grey data;
- :mod:`artkit.nn.adversarial`: what every adversarial model's training does alike
  (optimisers for G and D, one D call on real and fake, penalty checks);
- :mod:`artkit.nn.small_conv`, :mod:`artkit.nn.upsample_conv`, :mod:`artkit.nn.glu`,
  :mod:`artkit.nn.batch_norm`, :mod:`artkit.nn.split_batch_norm` (and
  :mod:`artkit.nn.layout`): stock layers' equals that are faster on the small CPU maps
  of a few-minute GAN.

Every module imports torch; this package ``__init__`` imports nothing, so the
names stay lazy. Layer names inside the blocks are part of checkpoints (tensor
keys such as ``G.net.4.weight``): change them only with a checkpoint migration.
"""

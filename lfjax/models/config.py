"""Network sizes of the VAE + flow: the [model] table of a training config, needed to serve a model."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Network sizes.

    Attributes:
      latent_dim: VAE latent dimension.
      encoder_widths, decoder_widths: hidden widths of the VAE MLPs.
      kl_weight: beta of the VAE loss (reconstruction MSE + beta KL).
      embed_dim: size of the learned curve embedding that conditions the flow with the latent
        (0 = latent only).
      embed_widths: hidden widths of the embedding MLP.
      flow_layers: rational-quadratic spline coupling layers.
      flow_bins: spline bins per coupling.
      flow_widths: hidden widths of each coupling's conditioner.
      flow_range: spline interval [-flow_range, flow_range] in standardised theta (identity outside).
      fold_canonical: train the flow on the canonical (D, E) of each draw and symmetrise at sampling
        (see `lfjax.models.trained`); false = train on the six-fold symmetric theta directly.
    """

    latent_dim: int = 3
    encoder_widths: tuple[int, ...] = (256, 256)
    decoder_widths: tuple[int, ...] = (256, 256)
    kl_weight: float = 1e-3
    embed_dim: int = 32
    embed_widths: tuple[int, ...] = (256, 256)
    flow_layers: int = 6
    flow_bins: int = 8
    flow_widths: tuple[int, ...] = (128, 128)
    flow_range: float = 5.0
    fold_canonical: bool = True

"""Networks: the curve VAE, the conditional spline flow, and their combination."""

from lfjax.models.flow import ConditionalFlow as ConditionalFlow
from lfjax.models.posterior import VAEFlow as VAEFlow
from lfjax.models.posterior import build as build
from lfjax.models.vae import VAE as VAE

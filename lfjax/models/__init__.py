"""Networks: the curve VAE, the conditional spline flow, and their combination."""

from lfjax.models.flow import ConditionalFlow as ConditionalFlow
from lfjax.models.posterior import VAEFlow as VAEFlow
from lfjax.models.posterior import build as build
from lfjax.models.trained import TrainedModel as TrainedModel
from lfjax.models.trained import load_model as load_model
from lfjax.models.vae import VAE as VAE

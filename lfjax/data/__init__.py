"""On-the-fly training data: the prior, the simulated stream and the fixed normalisation."""

from lfjax.data.config import DataConfig as DataConfig
from lfjax.data.normalise import Normalisation as Normalisation
from lfjax.data.normalise import fit_normalisation as fit_normalisation
from lfjax.data.prior import THETA_NAMES as THETA_NAMES
from lfjax.data.prior import sample_theta as sample_theta
from lfjax.data.stream import make_batch as make_batch

"""Physics core: ions, Stevens operators, Hamiltonians, susceptibilities (no ML dependencies)."""

from lfjax.physics._host_eigh import disabled as without_host_threads
from lfjax.physics.equivalents import canonical as canonical
from lfjax.physics.equivalents import equivalents as equivalents
from lfjax.physics.error_model import apply_errors as apply_errors
from lfjax.physics.error_model import apply_errors_chi_t as apply_errors_chi_t
from lfjax.physics.hamiltonian import ParameterError as ParameterError
from lfjax.physics.hamiltonian import hamiltonian as hamiltonian
from lfjax.physics.hamiltonian import to_kelvin as to_kelvin
from lfjax.physics.ions import Ion as Ion
from lfjax.physics.ions import IonError as IonError
from lfjax.physics.ions import ion as ion
from lfjax.physics.levels import ground_g as ground_g
from lfjax.physics.levels import levels as levels
from lfjax.physics.magnetization import chi as chi
from lfjax.physics.magnetization import chi_tensor as chi_tensor
from lfjax.physics.magnetization import magnetization as magnetization
from lfjax.physics.mean_field import lambda_from_zj as lambda_from_zj
from lfjax.physics.second_order import chi_t_powder_de as chi_t_powder_de
from lfjax.physics.susceptibility import chi_axes as chi_axes
from lfjax.physics.susceptibility import chi_powder_finite_field as chi_powder_finite_field
from lfjax.physics.susceptibility import chi_t_powder as chi_t_powder

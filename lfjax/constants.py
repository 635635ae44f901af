"""Physical constants (CODATA 2018) in the units lfjax uses.

Energies are in kelvin (E / k_B), susceptibilities per mole in cgs (emu/mol = cm^3/mol),
fields in oersted (1 T = 10^4 Oe).
"""

#: N_A mu_B^2 / k_B in emu K / mol: chi T = this * g^2 <J^2> for a Curie law.
NA_MUB2_OVER_KB_EMU_K_PER_MOL = 0.3751481
#: mu_B / k_B in K / T: Zeeman energy of g J = 1 in a field of 1 T.
MUB_OVER_KB_K_PER_T = 0.6717138
#: mu_B / k_B in K / Oe.
MUB_OVER_KB_K_PER_OE = MUB_OVER_KB_K_PER_T * 1e-4
#: N_A mu_B in emu / mol (moment of one mole of Bohr magnetons).
NA_MUB_EMU_PER_MOL = 5584.939
#: Oersted per tesla.
OE_PER_T = 1.0e4
#: kelvin per cm^-1 (h c / k_B).
K_PER_CM1 = 1.438777
#: kelvin per meV.
K_PER_MEV = 11.60452
#: chi_SI [m^3/mol] = this * chi_cgs [emu/mol].
SI_M3_PER_MOL_PER_CGS = 4.0e-6 * 3.141592653589793

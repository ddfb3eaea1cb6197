// Umbrella header for GMP. Swift cannot import the mpz_* macros, so Swift code calls
// the __gmpz_* functions that those macros name.
#include <gmp.h>

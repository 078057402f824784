/*
 * bcrypt_int.h -- shared between bcrypt.c and the generated bcrypt_pi.c only.
 */
#ifndef IOTPRO_CORE_BCRYPT_INT_H
#define IOTPRO_CORE_BCRYPT_INT_H

#include <stdint.h>

#define BCRYPT_P_WORDS 18

/* Blowfish's initial state (digits of pi). */
extern const uint32_t bcrypt_pi_p[BCRYPT_P_WORDS];
extern const uint32_t bcrypt_pi_s[4][256];

#endif

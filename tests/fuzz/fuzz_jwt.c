/* fuzz_jwt.c -- JWT payload decoding and refresh timing on arbitrary tokens. */
#include "core/jwt.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    jwt_claims c;
    if (jwt_decode((const char *)data, size, &c) == JWT_OK) {
        if (c.exp <= c.iat || strlen(c.customer_id) > 36 || strlen(c.scope) >= sizeof c.scope)
            abort();
        int64_t now = 1000;
        int64_t at = jwt_refresh_at(now, c.exp, c.iat);
        if (at < now + 1000)
            abort();
    }
    return 0;
}

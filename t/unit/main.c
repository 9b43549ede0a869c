/*
 * Copyright (C) ngx_http_manta_module authors
 *
 * The unit tests of the pure C core (src/manta_*.c), as one TAP stream.
 */


#include <string.h>

#include "tap.h"
#include "tests.h"


int
main(int argc, char **argv)
{
    /* the helpers of t/redis_parity.t */

    if (argc > 1 && strcmp(argv[1], "redis-script") == 0) {
        return redis_script_print();
    }

    if (argc > 1 && strcmp(argv[1], "limit-trace") == 0) {
        return limit_trace();
    }

    test_reason();
    test_json();
    test_re();
    test_request();
    test_body();
    test_name();
    test_creds();
    test_error();
    test_jscan();
    test_jerror();
    test_limit();
    test_mask();
    test_plan();
    test_status();
    test_redis();

    return done_testing();
}

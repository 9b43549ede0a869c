/*
 * Copyright (C) ngx_http_manta_module authors
 *
 * The unit tests of the pure C core (src/manta_*.c), as one TAP stream.
 */


#include "tap.h"
#include "tests.h"


int
main(void)
{
    test_reason();
    test_json();
    test_re();
    test_request();
    test_body();
    test_name();
    test_creds();
    test_error();
    test_limit();
    test_mask();
    test_plan();
    test_status();
    test_redis();

    return done_testing();
}

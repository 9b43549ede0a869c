/*
 * Copyright (C) ngx_http_manta_module authors
 */


#ifndef _TESTS_H_INCLUDED_
#define _TESTS_H_INCLUDED_


void test_reason(void);
void test_json(void);
void test_re(void);
void test_request(void);
void test_body(void);
void test_name(void);
void test_creds(void);
void test_error(void);
void test_jscan(void);
void test_jerror(void);
void test_limit(void);
void test_mask(void);
void test_plan(void);
void test_status(void);
void test_redis(void);

/* t/redis_parity.t: the script; manta_limit_take() over stdin */
int redis_script_print(void);
int limit_trace(void);


#endif /* _TESTS_H_INCLUDED_ */

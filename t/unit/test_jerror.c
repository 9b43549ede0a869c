/*
 * Copyright (C) ngx_http_manta_module authors
 *
 * manta_jerror.c: for every text it judges, jansson's own error code and
 * byte position (asked here of json_loadb() itself); the texts it leaves
 * to jansson; the texts jansson accepts.
 */


#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "manta_jerror.h"
#include "tap.h"
#include "tests.h"


#define JUDGED  1
#define LEFT    0


static void jerror_is(const char *json, size_t len, int judged,
    const char *name);
static void test_jerror_bytes(void);
static void test_jerror_runs(void);


static const struct {
    const char  *json;
    int          judged;
    const char  *name;
} jerror_cases[] = {

    /* judged: what callers send when they get JSON wrong */
    { "{\"name\":\"Team Alpha\",}", JUDGED, "a trailing comma" },
    { "{'name':'x'}", JUDGED, "single quotes" },
    { "{name:\"x\"}", JUDGED, "an unquoted name" },
    { "{\"name\":\"x\"", JUDGED, "no closing brace" },
    { "{\"name\":\"x", JUDGED, "a string cut short" },
    { "{\"name\" \"x\"}", JUDGED, "no colon" },
    { "{\"name\":\"x\" \"secret\":\"y\"}", JUDGED, "no comma" },
    { "{\"name\":\"x\"}}", JUDGED, "one brace too many" },
    { "{\"name\":\"x\"} {}", JUDGED, "two objects" },
    { "{\"name\":\"x\"} x", JUDGED, "a word after the object" },
    { "name=Team+Alpha", JUDGED, "a form body" },
    { "x", JUDGED, "one letter" },
    { "\"name\"", JUDGED, "a string at the top" },
    { "42", JUDGED, "a number at the top" },
    { "null", JUDGED, "null at the top" },
    { "{", JUDGED, "an opening brace" },
    { "[", JUDGED, "an opening bracket" },
    { "{\"a\":", JUDGED, "a member without its value" },
    { "{\"a\"", JUDGED, "a name alone" },
    { "{\"a\":tru}", JUDGED, "a literal cut short" },
    { "{\"a\":True}", JUDGED, "a capital literal" },
    { "{\"a\":nullx}", JUDGED, "a literal run on" },
    { "{\"a\":null1}", JUDGED, "a digit after a literal" },
    { "{\"a\":01}", JUDGED, "a leading zero" },
    { "{\"a\":-01}", JUDGED, "a leading zero after minus" },
    { "{\"a\":-}", JUDGED, "a lone minus" },
    { "{\"a\":-", JUDGED, "a minus at the end" },
    { "{\"a\":-x}", JUDGED, "minus and a letter" },
    { "{\"a\":1.}", JUDGED, "a point without digits" },
    { "{\"a\":1.", JUDGED, "a point at the end" },
    { "{\"a\":.5}", JUDGED, "a point first" },
    { "{\"a\":+1}", JUDGED, "a plus sign" },
    { "{\"a\":1.5.5}", JUDGED, "two points" },
    { "{\"a\":\"\\x\"}", JUDGED, "an invalid escape" },
    { "{\"a\":\"\\", JUDGED, "a backslash at the end" },
    { "{\"a\":\"x\ty\"}", JUDGED, "a tab in a string" },
    { "{\"a\":\"x\ny\"}", JUDGED, "a newline in a string" },
    { "{\"a\":[1,2,]}", JUDGED, "a trailing comma in an array" },
    { "{\"a\":[1 2]}", JUDGED, "no comma in an array" },
    { "{\"a\":[}", JUDGED, "an array closed by a brace" },
    { "{\"a\":{\"b\":1]}", JUDGED, "an object closed by a bracket" },
    { "{\"a\":1,,\"b\":2}", JUDGED, "two commas" },
    { "{\"a\"::1}", JUDGED, "two colons" },
    { "{,}", JUDGED, "a comma alone" },
    { "{\"a\":@}", JUDGED, "a stray byte" },
    { "{\"a\":\x7f}", JUDGED, "DEL as a token" },
    { "{\"a\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\",}", JUDGED,
      "every short escape, then an error" },
    { " \r\n\t{\n\"a\" : [ {\"b\":[]}, -1.25 , 0, true ] ,\n}", JUDGED,
      "white space everywhere, an error at the end" },
    { "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
      JUDGED, "nested 31 deep, then one bracket too many" },
    { "{\"a\":123456789012345678,}", JUDGED, "18 bytes of integer" },

    /* left to jansson */
    { "{\"name\":\"caf\xc3\xa9\",}", LEFT, "UTF-8 anywhere" },
    { "{\"name\":\"\xff\"}", LEFT, "bytes that are not UTF-8" },
    { "{\"a\":\"\\u0041\",}", LEFT, "a \\u escape" },
    { "{\"a\":1e5,}", LEFT, "an exponent" },
    { "{\"a\":1.5E5,}", LEFT, "an exponent after a fraction" },
    { "{\"a\":1234567890123456789}", LEFT, "19 bytes of integer" },
    { "{\"a\":1,\"a\":2,}", LEFT, "a duplicate name" },
    { "{\"a\\/\":1,}", LEFT, "a name with an escape" },
    { "{\"a\":\"\x01\"}", LEFT, "a control character" },
    { "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", LEFT, "nested 33 deep" },

    /* accepted by jansson */
    { "{\"name\":\"Team Alpha\"}", LEFT, "the common body" },
    { "{\"a\":[1,-0,0.5,true,false,null,{}],\"b\":\"\\n\"}", LEFT,
      "every kind of value" },
    { "[]", LEFT, "an empty array" },
    { " {} ", LEFT, "an empty object" },
};


void
test_jerror(void)
{
    size_t  i;

    for (i = 0; i < sizeof(jerror_cases) / sizeof(jerror_cases[0]); i++) {
        jerror_is(jerror_cases[i].json, strlen(jerror_cases[i].json),
                  jerror_cases[i].judged, jerror_cases[i].name);
    }

    jerror_is("{\"a\":1,\0}", sizeof("{\"a\":1,\0}") - 1, LEFT,
              "a NUL byte inside the text");

    test_jerror_bytes();
    test_jerror_runs();
}


/*
 * A string is read eight bytes at a time: the byte that ends a run ('"',
 * a backslash, a valid or invalid escape, a tab, DEL) at each place in a
 * word and across words, with more bytes after it, judged as jansson does
 * (a \\u escape left to it)
 */

static void
test_jerror_runs(void)
{
    char    text[96], name[96], *p;
    size_t  i, k, n;

    static const char  *ends[] = { "\"", "\\n", "\\x", "\t", "\x7f",
                                   "\\u0041", "\\" };

    for (i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
        for (k = 0; k <= 17; k++) {
            p = text;
            p += sprintf(p, "{\"a\":\"");

            for (n = 0; n < k; n++) {
                *p++ = (char) ('a' + n);
            }

            p += sprintf(p, "%s%s", ends[i], "rstuvwxyz\",}");

            snprintf(name, sizeof(name), "end %zu after %zu bytes", i, k);
            /* a \\u escape is left to jansson */
            jerror_is(text, (size_t) (p - text),
                      (ends[i][1] == 'u') ? LEFT : JUDGED, name);
        }
    }
}


/*
 * Texts with a byte that is neither printable ASCII nor JSON white space
 * (a control character, DEL's neighbours past 0x7f) are left to jansson,
 * wherever it is: in the first eight bytes, the middle ones or the tail;
 * white space and DEL anywhere do not stop the judgement
 */

static void
test_jerror_bytes(void)
{
    char                  text[64], name[96];
    size_t                i, k, n, len, wrong, position;
    enum json_error_code  code;

    static const char           base[] =
        "{\"name\":\"Team Alpha Beta Gamma Delta\",}";
    static const unsigned char  bad[] = { 0x00, 0x01, 0x1f, 0x80, 0xc3,
                                          0xff };

    len = sizeof(base) - 1;

    for (i = 0; i < len; i++) {
        for (k = 0; k < sizeof(bad); k++) {
            memcpy(text, base, len);
            text[i] = (char) bad[k];

            if (manta_jerror(text, len, &code, &position) != 0) {
                snprintf(name, sizeof(name), "byte 0x%02x at %zu", bad[k],
                         i);
                jerror_is(text, len, LEFT, name);
            }
        }
    }

    ok(1, "jerror: a text with a byte that is not text is left to jansson, "
       "at each of %zu places", len);

    /* every length: the last bytes are read with the word that ends them */

    wrong = 0;

    for (n = 1; n <= len; n++) {
        for (i = 0; i < n; i++) {
            for (k = 0; k < sizeof(bad); k++) {
                memcpy(text, base, n);
                text[i] = (char) bad[k];

                if (manta_jerror(text, n, &code, &position) != 0) {
                    diag("byte 0x%02x at %zu of %zu judged", bad[k], i, n);
                    wrong++;
                }
            }
        }
    }

    is_int(wrong, 0, "jerror: so at every place of every length to %zu",
           len);

    memcpy(text, base, len);
    text[12] = 0x7f;
    jerror_is(text, len, JUDGED, "DEL in a string");

    memcpy(text, " \t\r\n", 4);
    memcpy(text + 4, base, len);
    jerror_is(text, len + 4, JUDGED, "white space in the first word");

    memcpy(text, base, len - 2);
    memcpy(text + len - 2, ",\n\t\r }", 6);
    jerror_is(text, len + 4, JUDGED, "white space in the tail");
}


/*
 * judged: manta_jerror() answers, with json_loadb()'s code and position;
 * else it leaves the text to jansson
 */

static void
jerror_is(const char *json, size_t len, int judged, const char *name)
{
    int                   rc, rejected;
    char                  what[160];
    size_t                position;
    json_t               *root;
    json_error_t          err;
    enum json_error_code  code;

    code = json_error_unknown;
    position = 0;

    rc = manta_jerror(json, len, &code, &position);

    root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &err);
    rejected = (root == NULL);
    json_decref(root);

    snprintf(what, sizeof(what), "jerror: %s: %s", name,
             judged ? "judged" : "left to jansson");
    ok(rc == judged, "%s", what);

    if (!judged) {
        return;
    }

    snprintf(what, sizeof(what), "jerror: %s: jansson rejects it too, with "
             "the same code (%d, jansson %d) and position (%zu, jansson "
             "%d)", name, (int) code,
             rejected ? (int) json_error_code(&err) : -1, position,
             rejected ? err.position : -1);
    ok(rejected && code == json_error_code(&err)
       && position == (size_t) err.position, "%s", what);
}

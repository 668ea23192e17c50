/* Unit tests of the webhook modules without a database: lib/hmac (GitHub's
 * test vector, rotation, malformed headers), store_now / store_pr_valid
 * (lib/store) and the request helpers of lib/ingest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "buf.h"
#include "conf.h"
#include "hmac.h"
#include "ingest.h"
#include "json.h"
#include "store.h"

static void
test_hmac_vector(void **state)
{
	char sig[80];
	char *v[] = { "wrong", "It's a Secret to Everybody" };
	struct conf_list l = { v, 2 }, one = { v, 1 }, none = { NULL, 0 };
	const char *body = "Hello, World!";
	const char *want = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

	(void)state;
	hmac_github_signature(v[1], body, strlen(body), sig, sizeof sig);
	assert_string_equal(sig, want);
	assert_int_equal(hmac_verify(&l, want, body, strlen(body)), 1);	/* second secret */
	assert_int_equal(hmac_verify(&one, want, body, strlen(body)), 0);
	assert_int_equal(hmac_verify(&none, want, body, strlen(body)), 0);
	/* upper-case hex digits are the same digest */
	char up[80];
	lb_strlcpy(up, want, sizeof up);
	for (char *p = up + 7; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	assert_int_equal(hmac_verify(&l, up, body, strlen(body)), 1);
}

static void
test_hmac_malformed(void **state)
{
	char *v[] = { "It's a Secret to Everybody" };
	struct conf_list l = { v, 1 };
	const char *body = "Hello, World!";
	char good[80], bad[80];

	(void)state;
	hmac_github_signature(v[0], body, strlen(body), good, sizeof good);
	assert_int_equal(hmac_verify(&l, NULL, body, strlen(body)), 0);
	assert_int_equal(hmac_verify(&l, "", body, strlen(body)), 0);
	assert_int_equal(hmac_verify(&l, "sha1=01d2c6b6ad0b7b7e0f1ffbd3a9a4c4e2e5a6f6f1", body, strlen(body)), 0);
	memcpy(bad, good, sizeof bad);
	bad[40] = '\0';	/* truncated */
	assert_int_equal(hmac_verify(&l, bad, body, strlen(body)), 0);
	memcpy(bad, good, sizeof bad);
	bad[7] = 'g';	/* not hex */
	assert_int_equal(hmac_verify(&l, bad, body, strlen(body)), 0);
	memcpy(bad, good, sizeof bad);
	bad[70] = bad[70] == '0' ? '1' : '0';	/* last digit differs */
	assert_int_equal(hmac_verify(&l, bad, body, strlen(body)), 0);
	memcpy(bad, good, sizeof bad);
	memcpy(bad, "SHA256=", 7);
	assert_int_equal(hmac_verify(&l, bad, body, strlen(body)), 0);
	/* one byte more in the body */
	assert_int_equal(hmac_verify(&l, good, "Hello, World!!", 14), 0);
}

static void
test_store_now(void **state)
{
	char out[32];

	(void)state;
	store_now(out, sizeof out);
	assert_int_equal(strlen(out), 26);
	assert_int_equal(out[19], '.');
}

static void
test_store_pr_valid(void **state)
{
	static const char cfg[] = "[database]\nname = x\n[github]\nrepositories = acme/repo\n";
	static const char ok[] =
	    "{\"id\":5,\"number\":7,\"state\":\"closed\",\"title\":\"t\",\"draft\":false,"
	    "\"created_at\":\"2024-01-01T00:00:00Z\",\"updated_at\":\"2024-01-02T00:00:00Z\","
	    "\"closed_at\":\"2024-01-02T00:00:00Z\",\"merged_at\":null,"
	    "\"user\":{\"id\":1,\"login\":\"dev\",\"type\":\"User\"},"
	    "\"base\":{\"repo\":{\"id\":2,\"name\":\"repo\",\"full_name\":\"acme/repo\",\"owner\":{\"login\":\"acme\"}}},"
	    "\"labels\":[{\"id\":3,\"name\":\"bug\",\"color\":\"ff0000\"}]}";
	const char *bad[] = { "\"id\":5", "\"state\":\"closed\"", "\"created_at\":\"2024-01-01T00:00:00Z\"",
		"\"user\":{\"id\":1,\"login\":\"dev\",\"type\":\"User\"}", "\"labels\":[{\"id\":3," };
	const char *repl[] = { "\"id\":\"5\"", "\"state\":\"merged\"", "\"created_at\":5",
		"\"user\":{\"id\":-1,\"login\":\"dev\"}", "\"labels\":[{\"id\":\"x\"," };
	struct conf c;
	char err[256];
	json_val v;

	(void)state;
	assert_int_equal(conf_parse(&c, "t.conf", cfg, sizeof cfg - 1, err, sizeof err), 0);
	v = json_parse(ok, sizeof ok - 1, 64, sizeof ok, err, sizeof err);
	assert_non_null(v);
	assert_int_equal(store_pr_valid(&c, v), 0);
	json_free(v);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct buf b = BUF_INIT;
		const char *at = strstr(ok, bad[i]);
		assert_non_null(at);
		buf_append(&b, ok, (size_t)(at - ok));
		buf_puts(&b, repl[i]);
		buf_puts(&b, at + strlen(bad[i]));
		v = json_parse(b.data, b.len, 64, b.len + 1, err, sizeof err);
		assert_non_null(v);
		assert_int_equal(store_pr_valid(&c, v), STORE_EBADINPUT);
		json_free(v);
		buf_free(&b);
	}
	conf_free(&c);
}

static void
test_request_helpers(void **state)
{
	char form[] = "a=1&payload=%7B%22x%22%3A+1%7D&b=2", f1[] = "payload=%zz", f2[] = "payloadx=1",
	    f3[] = "", f4[] = "payload=%7B%7D";
	size_t n = 99;

	(void)state;
	assert_int_equal(ingest_media("application/json"), INGEST_MEDIA_JSON);
	assert_int_equal(ingest_media(" Application/JSON; charset=utf-8"), INGEST_MEDIA_JSON);
	assert_int_equal(ingest_media("application/x-www-form-urlencoded"), INGEST_MEDIA_FORM);
	assert_int_equal(ingest_media("application/jsonp"), INGEST_MEDIA_OTHER);
	assert_int_equal(ingest_media("text/plain"), INGEST_MEDIA_OTHER);
	assert_int_equal(ingest_media(NULL), INGEST_MEDIA_OTHER);
	/* decoded in place, to the start of the buffer */
	assert_int_equal(ingest_form_payload(form, strlen(form), &n), 0);
	assert_int_equal(n, 8);
	assert_string_equal(form, "{\"x\": 1}");
	assert_int_equal(ingest_form_payload(f4, strlen(f4), &n), 0);
	assert_string_equal(f4, "{}");
	assert_int_equal(ingest_form_payload(f1, strlen(f1), &n), -1);
	assert_int_equal(ingest_form_payload(f2, strlen(f2), &n), -1);
	assert_int_equal(ingest_form_payload(f3, 0, &n), -1);
	assert_int_equal(ingest_form_payload(NULL, 0, &n), -1);
	assert_true(ingest_valid_id("72d3162e-cc78-11e3-81ab-4c9367dc0958"));
	assert_false(ingest_valid_id("../etc"));
	assert_false(ingest_valid_id(""));
	assert_false(ingest_valid_id(NULL));
	assert_true(ingest_valid_event("pull_request"));
	assert_false(ingest_valid_event("Pull Request"));
	assert_false(ingest_valid_event(NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hmac_vector),
		cmocka_unit_test(test_hmac_malformed),
		cmocka_unit_test(test_store_now),
		cmocka_unit_test(test_store_pr_valid),
		cmocka_unit_test(test_request_helpers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

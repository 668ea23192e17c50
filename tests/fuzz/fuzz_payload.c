/*
 * libFuzzer target: webhook payload parsing — lib/json's bounded parser,
 * then every validation lib/store applies before writing (store_pr_valid,
 * date_from_iso on the time fields), on the payload and on its pull_request.
 * Input: a payload as GitHub would POST it (JSON bytes).
 */
#include "buf.h"
#include "conf.h"
#include "date.h"
#include "fuzz.h"
#include "ingest.h"
#include "json.h"
#include "store.h"

#include <string.h>

static const char config[] =
    "[database]\nname = x\n[github]\npartner_org = Octocoders\n"
    "repositories = Codertocat/Hello-World, acme/repo\n";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const times[] = { "created_at", "updated_at", "closed_at", "merged_at" };
	char err[128], out[32];
	const struct conf *conf = fuzz_conf(config, sizeof config - 1);
	json_val root, pr;

	root = json_parse((const char *)data, size, INGEST_MAX_DEPTH, size + 1, err, sizeof err);
	if (root == NULL)
		return 0;
	(void)store_pr_valid(conf, root);
	pr = json_get(root, "pull_request", NULL);
	(void)store_pr_valid(conf, pr);
	for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
		const char *t = json_str(pr, times[i]);
		if (t)
			(void)date_from_iso(t, out, sizeof out);
	}
	(void)json_str(root, "action");
	(void)json_ll(json_get(root, "team", NULL), "id", 0);
	(void)json_bool(pr, "merged", 0);
	json_free(root);
	/* the raw bytes as a time string too (NUL-terminated copy) */
	if (size < 64) {
		char s[64];
		memcpy(s, data, size);
		s[size] = '\0';
		(void)date_from_iso(s, out, sizeof out);
	}
	return 0;
}

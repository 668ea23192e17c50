/*
 * gh_fetch — the baseline of bench/20-sync: walk every page of a GitHub list
 * (Link rel="next") with lib/github (libcurl) and parse each page with
 * lib/json (yajl), storing nothing.
 *
 *   gh_fetch API_URL TOKEN PATH
 * prints "pages=N items=N bytes=N seconds=S" on stdout; exit 1 on an error.
 */
#include "buf.h"
#include "github.h"
#include "json.h"

#include <stdio.h>
#include <time.h>

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	char url[GH_URL_MAX], err[512];
	unsigned long long items = 0;
	struct gh_resp r;
	struct gh *g;
	long pages = 0;
	double t0;

	if (argc != 4) {
		fprintf(stderr, "usage: gh_fetch API_URL TOKEN PATH\n");
		return 2;
	}
	g = gh_new(argv[1], argv[2], err, sizeof err);
	if (g == NULL) {
		fprintf(stderr, "gh_fetch: %s\n", err);
		return 1;
	}
	lb_strlcpy(url, argv[3], sizeof url);
	gh_resp_init(&r);
	t0 = now();
	for (;;) {
		json_val v;
		if (gh_get(g, url, NULL, &r, err, sizeof err) != GH_OK) {
			fprintf(stderr, "gh_fetch: %s\n", err);
			return 1;
		}
		v = json_parse(r.body.data ? r.body.data : "", r.body.len, 64, GH_MAX_BODY, err, sizeof err);
		if (v == NULL || !json_is_array(v)) {
			fprintf(stderr, "gh_fetch: page %ld: %s\n", pages + 1, v ? "not an array" : err);
			return 1;
		}
		items += json_len(v);
		json_free(v);
		pages++;
		if (r.next[0] == '\0')
			break;
		lb_strlcpy(url, r.next, sizeof url);
	}
	printf("pages=%ld items=%llu bytes=%llu seconds=%.3f requests=%lu\n", pages, items, g->bytes,
	    now() - t0, g->requests);
	gh_resp_free(&r);
	gh_free(g);
	return 0;
}

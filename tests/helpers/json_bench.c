/*
 * json_bench — the parse microbenchmark of bench/16-json-parse: parses each
 * file given (whole, as lb-hook parses a body) ITER times with lib/json and
 * reads it as lb-hook does (store_pr_valid on "pull_request"), then the same
 * files with yajl's own tree parser (yajl_tree_parse), the in-run baseline.
 *
 *   json_bench ITER FILE...
 * prints one line per parser: "NAME us_per_doc=U mb_per_s=M" and the ratio.
 */
#include "buf.h"
#include "conf.h"
#include "json.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <yajl/yajl_tree.h>

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);	/* CPU time: the machine is shared */
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *
slurp(const char *path, size_t *len)
{
	struct buf b = BUF_INIT;
	char chunk[65536];
	size_t n;
	FILE *f = fopen(path, "rb");

	if (f == NULL)
		return NULL;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		if (buf_append(&b, chunk, n) < 0) {
			fclose(f);
			buf_free(&b);
			return NULL;
		}
	fclose(f);
	*len = b.len;
	return buf_detach(&b);
}

int
main(int argc, char **argv)
{
	static const char text[] = "[database]\nname = x\n[github]\nrepositories = Codertocat/Hello-World\n";
	struct conf conf;
	char err[256];
	char **docs;
	size_t *lens, total = 0;
	long long iter;
	int n = argc - 2, bad = 0;
	double t0, t_json, t_tree;

	if (argc < 3 || lb_parse_ll(argv[1], 1, 1000000, &iter) < 0) {
		fprintf(stderr, "usage: json_bench ITER FILE...\n");
		return 2;
	}
	if (conf_parse(&conf, "bench.conf", text, sizeof text - 1, err, sizeof err) < 0) {
		fprintf(stderr, "json_bench: %s\n", err);
		return 1;
	}
	docs = calloc((size_t)n, sizeof *docs);
	lens = calloc((size_t)n, sizeof *lens);
	if (docs == NULL || lens == NULL)
		return 1;
	for (int i = 0; i < n; i++) {
		if ((docs[i] = slurp(argv[i + 2], &lens[i])) == NULL) {
			fprintf(stderr, "json_bench: cannot read %s\n", argv[i + 2]);
			return 1;
		}
		total += lens[i];
	}

	t0 = now();
	for (long long k = 0; k < iter; k++)
		for (int i = 0; i < n; i++) {
			json_val v = json_parse(docs[i], lens[i], 64, lens[i] + 1, err, sizeof err);
			if (v == NULL || store_pr_valid(&conf, json_get(v, "pull_request", NULL)) != 0)
				bad++;
			json_free(v);
		}
	t_json = now() - t0;

	t0 = now();
	for (long long k = 0; k < iter; k++)
		for (int i = 0; i < n; i++) {
			yajl_val v = yajl_tree_parse(docs[i], err, sizeof err);
			const char *path[] = { "pull_request", "id", NULL };
			if (v == NULL || yajl_tree_get(v, path, yajl_t_number) == NULL)
				bad++;
			yajl_tree_free(v);
		}
	t_tree = now() - t0;

	printf("json_parse+read us_per_doc=%.1f mb_per_s=%.1f\n", t_json * 1e6 / (double)(iter * n),
	    (double)total * (double)iter / 1e6 / t_json);
	printf("yajl_tree_parse us_per_doc=%.1f mb_per_s=%.1f\n", t_tree * 1e6 / (double)(iter * n),
	    (double)total * (double)iter / 1e6 / t_tree);
	printf("ratio json_parse+read / yajl_tree_parse: %.2fx the speed (docs=%d bytes_avg=%zu bad=%d)\n",
	    t_tree / t_json, n, total / (size_t)n, bad);
	for (int i = 0; i < n; i++)
		free(docs[i]);
	free(docs);
	free(lens);
	conf_free(&conf);
	return bad ? 1 : 0;
}

/*
 * lb-hook.fcgi — GitHub webhook receiver (../shared/CONTRACT.md "Webhooks").
 * Foundation stub: answers 405 to non-POST and 503 otherwise until the
 * webhooks issue lands.
 */
#include "conf.h"
#include "http.h"
#include "log.h"

#include <string.h>

static const char *config_path;
static struct conf conf;

static int
init(void *ctx)
{
	char err[512];

	(void)ctx;
	if (conf_load(&conf, conf_path(config_path), err, sizeof err) < 0) {
		log_error("%s", err);
		return -1;
	}
	return 0;
}

static void
handle(struct http_req *r, void *ctx)
{
	(void)ctx;
	if (strcmp(r->method, "POST") != 0) {
		http_error(r, 405, "method_not_allowed", "webhooks are POSTed");
		return;
	}
	http_error(r, 503, "not_implemented", "webhook processing is not built yet");
}

int
main(int argc, char **argv)
{
	return http_serve(argc, argv, "lb-hook", &config_path, init, handle, NULL);
}

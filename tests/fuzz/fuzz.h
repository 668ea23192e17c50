/* What the libFuzzer targets share: the configuration they run with. */
#ifndef LB_FUZZ_H
#define LB_FUZZ_H

#include "conf.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The configuration parsed from text on the first call (abort() when it
 * does not parse: the target itself is wrong), the same one afterwards. */
static inline const struct conf *
fuzz_conf(const char *text, size_t len)
{
	static struct conf conf;
	static int ready;
	char err[256];

	if (!ready) {
		if (conf_parse(&conf, "fuzz.conf", text, len, err, sizeof err) < 0)
			abort();
		ready = 1;
	}
	return &conf;
}

#endif

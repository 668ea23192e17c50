/* The helpers every lb-admin listing prints its rows with (admin.h). */
#include "admin.h"
#include "buf.h"
#include "date.h"
#include "db.h"

#include <string.h>

const char *
admin_cell(const struct db_res *r, size_t row, size_t col, const char *dflt)
{
	const char *v = db_get(r, row, col);

	return v ? v : dflt;
}

const char *
admin_time(const struct db_res *r, size_t row, size_t col, char *out, size_t outlen,
    const char *dflt)
{
	const char *v = db_get(r, row, col);

	if (v == NULL)
		return dflt;
	if (date_from_iso(v, out, outlen) < 0)
		lb_strlcpy(out, v, outlen);
	return out;
}

int
admin_limit_opt(int argc, char **argv, int *i, long long *limit)
{
	if (strcmp(argv[*i], "--limit") != 0 || *i + 1 >= argc ||
	    lb_parse_ll(argv[*i + 1], 1, 1000000000, limit) < 0)
		return 0;
	++*i;
	return 1;
}

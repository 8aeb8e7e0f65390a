/* Print the error table (code, name, message, exit status) as markdown rows
 * for spec/PROTOCOL.md section 6:  ./klic_errtable > rows.md */
#include <stdio.h>

#include "klic_error.h"
#include "klic_internal.h"

int main(void)
{
	for (size_t i = 0; i < klic_error_table_size(); i++) {
		int code, ex;
		const char *name, *msg;
		if (klic_error_table_entry(i, &code, &name, &msg, &ex) != 0)
			return 4;
		if (printf("| %d | `%s` | %s (exit %d) |\n", code, name, msg, ex) < 0)
			return 3;
	}
	return 0;
}

/* tipctl entry point: being written. */
#include <stdio.h>

int
main(void)
{
	fprintf(stderr, "tipctl: not built yet\n");
	return 1;
}

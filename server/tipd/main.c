/* tipd entry point: being written. */
#include <stdio.h>

int
main(void)
{
	fprintf(stderr, "tipd: not built yet\n");
	return 1;
}

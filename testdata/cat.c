// cat copies standard input to standard output, upper-cased, and reports on
// stderr how many bytes it read.
#include <ctype.h>
#include <stdio.h>

int main(void) {
	int c;
	long n = 0;
	while ((c = getchar()) != EOF) {
		putchar(toupper(c));
		n++;
	}
	fprintf(stderr, "read %ld bytes\n", n);
	return 0;
}

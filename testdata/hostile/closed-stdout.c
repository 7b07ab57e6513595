// closed-stdout writes lines to stdout until a write fails, as `yes` does, then
// reports the failure on stderr and exits 3. Run as `isle run prog | head -1`:
// when the reader has gone, isle must not die of SIGPIPE (exit 141) but give
// the program EPIPE, as wasmtime does. It ends after 100,000 lines if nobody
// closes its stdout.
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
	static const char line[] = "y\n";
	for (long i = 0; i < 100000; i++) {
		if (write(1, line, sizeof line - 1) < 0) {
			fprintf(stderr, "write failed: %s\n", errno == EPIPE ? "EPIPE" : strerror(errno));
			return 3;
		}
	}
	return 0;
}

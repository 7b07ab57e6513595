// closed-stdout writes lines of 1 KiB to stdout until a write fails, as `yes` does, then
// reports the failure on stderr and exits 3. Run as `isle run prog | head -1`:
// when the reader has gone, isle must not die of SIGPIPE (exit 141) but give
// the program EPIPE, as wasmtime does. It ends after 256 lines if nobody
// closes its stdout (cmd/isle's TestClosedStdoutIsEPIPE closes it).
// isle-test: status 0
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
	static char line[1024];
	memset(line, 'y', sizeof line - 1);
	line[sizeof line - 1] = '\n';
	for (int i = 0; i < 256; i++) { // 256 KiB: more than a pipe holds
		if (write(1, line, sizeof line) < 0) {
			fprintf(stderr, "write failed: %s\n", errno == EPIPE ? "EPIPE" : strerror(errno));
			return 3;
		}
	}
	return 0;
}

// hello-c is isle's first C program: it prints its arguments and the GREETING
// environment variable, and exits with the status given after --exit.
//
//	clang --target=wasm32-wasi -O2 -Wl,--strip-all -o hello-c.wasm examples/hello-c/hello.c
//	isle run --env GREETING=hi hello-c.wasm a b --exit 3
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
	printf("hello from C\n");
	int status = 0;
	for (int i = 0; i < argc; i++) {
		printf("argv[%d] = %s\n", i, argv[i]);
		if (strcmp(argv[i], "--exit") == 0 && i + 1 < argc) {
			char *end;
			long n = strtol(argv[i + 1], &end, 10);
			if (*argv[i + 1] == '\0' || *end != '\0') {
				fprintf(stderr, "hello-c: bad exit status \"%s\"\n", argv[i + 1]);
				return 2;
			}
			status = (int)n;
		}
	}
	const char *g = getenv("GREETING");
	printf("GREETING = %s\n", g ? g : "");
	return status;
}

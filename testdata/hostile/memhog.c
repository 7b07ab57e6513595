// memhog: an attack on the host's memory. It mallocs 64 MiB chunks (the
// size in MiB may be given as argv[1]) and writes every byte of each, until
// malloc returns NULL or the 4 GiB of a wasm32 memory are spent, then prints
// how many chunks it got and exits 0.
//
// isle must refuse the memory.grow behind a malloc past the SIP's memory
// limit (--memory-limit) or past the machine's budget (--machine-memory):
// memory.grow returns -1, malloc returns NULL, the program ends by itself
// and every other SIP and the host go on. It must never be the host that
// runs out of memory.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
	size_t mib = argc > 1 ? (size_t)atoi(argv[1]) : 64;
	if (mib == 0)
		mib = 64;
	size_t chunk = mib << 20;
	static char *chunks[4096];
	int n = 0;
	for (unsigned long long total = 0; total + chunk <= (4ull << 30); total += chunk) {
		char *p = malloc(chunk);
		if (p == NULL)
			break;
		memset(p, 0xa5, chunk);
		chunks[n++] = p;
	}
	// Read every chunk back, so that no allocation can be optimised away.
	unsigned long sum = 0;
	for (int i = 0; i < n; i++)
		sum += (unsigned char)chunks[i][chunk - 1];
	printf("memhog: %d chunks of %zu MiB (check %lu)\n", n, mib, sum / 0xa5);
	return 0;
}

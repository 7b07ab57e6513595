// slowspawn: writes into the first preopened directory a module whose one
// function nests 20,000 blocks (wazero's compile time grows with the square
// of the nesting: about 4 s here, 60,000 blocks take about 40 s) and spawns
// it: the spawn waits for the compile. It says "slowspawn: compiling" before and "slowspawn: spawned"
// after, then waits for the child (which returns at once) and exits.
//
// What isle must do: compile it on the loader's own goroutine, so that
// every other SIP's proc_spawn completes meanwhile (one slow compile used
// to hold every other spawn for 17 s, and SIGINT while it compiled); a kill
// of this SIP, or the machine's stop, must not wait for the compile.
// isle-test: stdout slowspawn: spawned
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <wasi/api.h>
#include "isle_proc.h"

#define BLOCKS 20000

static unsigned char mod[3 * BLOCKS + 256];
static size_t n;

static void put(unsigned char c) { mod[n++] = c; }
static void leb(uint32_t v) {
	do {
		unsigned char c = v & 0x7f;
		v >>= 7;
		put(v ? c | 0x80 : c);
	} while (v);
}
static void section(int id, const unsigned char *c, size_t len) {
	put(id);
	leb(len);
	memcpy(mod + n, c, len);
	n += len;
}

int main(void) {
	static const unsigned char head[] = {0, 'a', 's', 'm', 1, 0, 0, 0};
	static const unsigned char types[] = {1, 0x60, 0, 0};
	static const unsigned char funcs[] = {1, 0};
	static const unsigned char mems[] = {1, 0, 1};
	static const unsigned char exports[] = {2, 6, '_', 's', 't', 'a', 'r', 't', 0, 0,
	                                        6, 'm', 'e', 'm', 'o', 'r', 'y', 2, 0};
	memcpy(mod, head, sizeof head);
	n = sizeof head;
	section(1, types, sizeof types);
	section(3, funcs, sizeof funcs);
	section(5, mems, sizeof mems);
	section(7, exports, sizeof exports);
	uint32_t body = 1 + 2 * BLOCKS + BLOCKS + 1; // no locals, blocks, ends, end
	uint32_t code = 1 + (body < 128 ? 1 : body < 16384 ? 2 : 3) + body;
	put(10);
	leb(code);
	put(1);
	leb(body);
	put(0);
	for (int i = 0; i < BLOCKS; i++) {
		put(0x02);
		put(0x40);
	}
	for (int i = 0; i <= BLOCKS; i++)
		put(0x0B);

	char dir[256], path[320];
	__wasi_prestat_t ps;
	if (__wasi_fd_prestat_get(3, &ps) != 0 || ps.u.dir.pr_name_len >= sizeof dir ||
	    __wasi_fd_prestat_dir_name(3, (uint8_t *)dir, ps.u.dir.pr_name_len) != 0) {
		printf("slowspawn: no directory\n");
		return 0;
	}
	dir[ps.u.dir.pr_name_len] = 0;
	snprintf(path, sizeof path, "%s/slowspawn.wasm", dir);
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(mod, 1, n, f) != n || fclose(f) != 0) {
		printf("slowspawn: cannot write %s\n", path);
		return 0;
	}
	printf("slowspawn: compiling\n");
	fflush(stdout);
	uint32_t pid, status;
	uint64_t cpu;
	int e = isle_proc_spawn(path, strlen(path), path, strlen(path) + 1, 0, &pid);
	if (e != 0) {
		printf("slowspawn: spawn: errno %d\n", e);
		return 0;
	}
	printf("slowspawn: spawned\n");
	fflush(stdout);
	isle_proc_wait(pid, &status, &cpu);
	return 0;
}

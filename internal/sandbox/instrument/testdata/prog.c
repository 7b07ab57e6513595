/* A C program for the differential test, built with clang for wasm32-wasi. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned fib(unsigned n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

static int cmp(const void *a, const void *b) {
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv) {
	enum { N = 50000 };
	int *v = malloc(N * sizeof *v);
	unsigned s = 12345;
	for (int i = 0; i < N; i++) {
		s = s * 1103515245u + 12345u;
		v[i] = (int)(s >> 8) % 100000;
	}
	qsort(v, N, sizeof *v, cmp);
	long long sum = 0;
	for (int i = 0; i < N; i += 7)
		sum += v[i];
	printf("sorted: %d %d %lld\n", v[0], v[N - 1], sum);
	printf("fib(25): %u\n", fib(25));
	char buf[64];
	int n = 0;
	for (int i = 0; i < 1000; i++) {
		switch (i % 5) {
		case 0: n += 3; break;
		case 1: n ^= i; break;
		case 2: n -= 1; break;
		case 3: n *= 3; n %= 100003; break;
		default: n += i;
		}
	}
	snprintf(buf, sizeof buf, "switch: %d", n);
	puts(buf);
	printf("args: %d %s\n", argc, argc > 1 ? argv[1] : "-");
	free(v);
	return 7;
}

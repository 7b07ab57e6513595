// bits: tight bit loops (population count, bit reversal, a xorshift
// generator, gcd) mixed with a recursive subset sum: the shape of program
// whose instruction count grew most under the first rewriter. Part of isle
// bench sched's preemption rows.
#include <stdint.h>
#include <stdio.h>

static unsigned popcount(uint32_t x) {
	unsigned n = 0;
	while (x) { x &= x - 1; n++; }
	return n;
}

static uint32_t reverse(uint32_t x) {
	uint32_t r = 0;
	for (int i = 0; i < 32; i++) { r = (r << 1) | (x & 1); x >>= 1; }
	return r;
}

static uint32_t gcd(uint32_t a, uint32_t b) {
	while (b) { uint32_t t = a % b; a = b; b = t; }
	return a;
}

static unsigned subsets(const uint32_t *v, int n, uint32_t target) {
	if (n == 0) return target == 0;
	unsigned c = subsets(v + 1, n - 1, target);
	if (v[0] <= target) c += subsets(v + 1, n - 1, target - v[0]);
	return c;
}

int main(void) {
	uint32_t x = 2463534242u, acc = 0;
	for (int i = 0; i < 400000; i++) {
		x ^= x << 13; x ^= x >> 17; x ^= x << 5;
		acc += popcount(x) + (reverse(x) & 0xff) + gcd(x | 1, (x >> 7) | 1);
	}
	uint32_t v[20];
	for (int i = 0; i < 20; i++) v[i] = 3 + (i * 7) % 23;
	acc += subsets(v, 20, 120);
	printf("%u\n", acc);
	return 0;
}

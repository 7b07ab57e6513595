// sort: quicksort (recursive, short loops around the recursive call),
// merge sort and insertion sort of pseudo-random integers. Part of isle
// bench sched's preemption rows.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void quick(uint32_t *v, int lo, int hi) {
	while (hi - lo > 16) {
		uint32_t p = v[(lo + hi) / 2];
		int i = lo, j = hi;
		while (i <= j) {
			while (v[i] < p) i++;
			while (v[j] > p) j--;
			if (i <= j) { uint32_t t = v[i]; v[i] = v[j]; v[j] = t; i++; j--; }
		}
		if (j - lo < hi - i) { quick(v, lo, j); lo = i; } else { quick(v, i, hi); hi = j; }
	}
	for (int i = lo + 1; i <= hi; i++) {
		uint32_t x = v[i];
		int j = i - 1;
		while (j >= lo && v[j] > x) { v[j + 1] = v[j]; j--; }
		v[j + 1] = x;
	}
}

static void merge(uint32_t *v, uint32_t *tmp, int n) {
	if (n < 2) return;
	int h = n / 2;
	merge(v, tmp, h);
	merge(v + h, tmp, n - h);
	int i = 0, j = h, k = 0;
	while (i < h && j < n) tmp[k++] = v[i] <= v[j] ? v[i++] : v[j++];
	while (i < h) tmp[k++] = v[i++];
	while (j < n) tmp[k++] = v[j++];
	memcpy(v, tmp, n * sizeof *v);
}

int main(void) {
	enum { n = 200000 };
	uint32_t *v = malloc(n * sizeof *v), *w = malloc(n * sizeof *w), *tmp = malloc(n * sizeof *tmp);
	uint32_t x = 88172645u, r = 0;
	for (int rep = 0; rep < 2; rep++) {
		for (int i = 0; i < n; i++) { x ^= x << 13; x ^= x >> 17; x ^= x << 5; v[i] = w[i] = x; }
		quick(v, 0, n - 1);
		merge(w, tmp, n);
		for (int i = 0; i < n; i += 1000) r += v[i] ^ w[i];
	}
	printf("%u\n", r);
	return 0;
}

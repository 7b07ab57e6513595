/* Compute kernels for the differential test and the overhead benchmark,
 * built with clang --target=wasm32 -nostdlib: each takes a size and returns
 * a checksum. No libc: the loops are the compiler's own. */
typedef unsigned int u32;
typedef unsigned long long u64;

static unsigned char flags[1 << 20];
static u32 a[1 << 16], b[1 << 16];
static double m1[64 * 64], m2[64 * 64], m3[64 * 64];

u32 sieve(u32 n) {
	if (n > sizeof flags) n = sizeof flags;
	for (u32 i = 0; i < n; i++) flags[i] = 1;
	u32 count = 0;
	for (u32 i = 2; i < n; i++) {
		if (!flags[i]) continue;
		count++;
		for (u32 j = 2 * i; j < n; j += i) flags[j] = 0;
	}
	return count;
}

u32 crc32(u32 n) {
	u32 crc = 0xffffffffu;
	for (u32 i = 0; i < n; i++) {
		crc ^= (i * 2654435761u) & 0xff;
		for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xedb88320u & -(crc & 1));
	}
	return ~crc;
}

double matmul(u32 n) {
	if (n > 64) n = 64;
	for (u32 i = 0; i < n * n; i++) {
		m1[i] = (double)(i % 7) + 0.5;
		m2[i] = (double)(i % 5) - 1.0;
	}
	for (u32 i = 0; i < n; i++)
		for (u32 j = 0; j < n; j++) {
			double s = 0;
			for (u32 k = 0; k < n; k++) s += m1[i * n + k] * m2[k * n + j];
			m3[i * n + j] = s;
		}
	double t = 0;
	for (u32 i = 0; i < n * n; i++) t += m3[i];
	return t;
}

static void sort(u32 *v, int lo, int hi) {
	while (lo < hi) {
		u32 p = v[(lo + hi) / 2];
		int i = lo, j = hi;
		while (i <= j) {
			while (v[i] < p) i++;
			while (v[j] > p) j--;
			if (i <= j) {
				u32 t = v[i];
				v[i++] = v[j];
				v[j--] = t;
			}
		}
		if (j - lo < hi - i) {
			sort(v, lo, j);
			lo = i;
		} else {
			sort(v, i, hi);
			hi = j;
		}
	}
}

u32 quicksort(u32 n) {
	if (n > sizeof a / sizeof a[0]) n = sizeof a / sizeof a[0];
	u32 s = 1;
	for (u32 i = 0; i < n; i++) {
		s = s * 1664525u + 1013904223u;
		a[i] = s >> 4;
	}
	sort(a, 0, (int)n - 1);
	u32 h = 0;
	for (u32 i = 0; i < n; i++) h = h * 31 + a[i];
	return h;
}

u32 collatz(u32 n) {
	u32 best = 0;
	for (u32 i = 1; i < n; i++) {
		u64 x = i;
		u32 steps = 0;
		while (x != 1) {
			x = (x & 1) ? 3 * x + 1 : x / 2;
			steps++;
		}
		if (steps > best) best = steps;
	}
	return best;
}

u32 dispatch(u32 n) {
	u32 acc = 7;
	for (u32 i = 0; i < n; i++) {
		switch ((acc ^ i) % 6) {
		case 0: acc += i; break;
		case 1: acc ^= acc << 3; break;
		case 2: acc -= 17; break;
		case 3: acc = acc * 5 + 1; break;
		case 4: acc = (acc >> 2) | (acc << 30); break;
		default: acc ^= 0x9e3779b9u;
		}
	}
	return acc;
}

u32 memops(u32 n) {
	if (n > sizeof b / sizeof b[0]) n = sizeof b / sizeof b[0];
	for (u32 i = 0; i < n; i++) b[i] = i * 7;
	u32 s = 0;
	for (int r = 0; r < 8; r++)
		for (u32 i = 1; i < n; i++) {
			b[i] += b[i - 1] >> 3;
			s += b[i];
		}
	return s;
}

// hash: FNV-1a, CRC-32 (bitwise and table-driven) and a djb2 hash table
// of strings with chaining. Part of isle bench sched's preemption rows.
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static uint8_t buf[1 << 18];

static uint32_t fnv(const uint8_t *p, size_t n) {
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
	return h;
}

static uint32_t table[256];

static uint32_t crc(const uint8_t *p, size_t n) {
	uint32_t c = 0xffffffffu;
	for (size_t i = 0; i < n; i++) c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
	return ~c;
}

struct entry { char key[16]; uint32_t val; int next; };
static struct entry ents[1 << 15];
static int heads[1 << 12];

static uint32_t djb2(const char *s) {
	uint32_t h = 5381;
	while (*s) h = h * 33 + (uint8_t)*s++;
	return h;
}

int main(void) {
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
		table[i] = c;
	}
	for (size_t i = 0; i < sizeof buf; i++) buf[i] = (uint8_t)(i * 131 + (i >> 9));
	uint32_t r = 0;
	for (int rep = 0; rep < 8; rep++) {
		buf[rep] ^= (uint8_t)r;
		r += fnv(buf, sizeof buf) ^ crc(buf, sizeof buf);
	}
	memset(heads, -1, sizeof heads);
	int used = 0;
	for (int rep = 0; rep < 6; rep++)
		for (int i = 0; i < (1 << 15); i++) {
			char key[16];
			snprintf(key, sizeof key, "k%d", (i * 7919) & 0x7fff);
			uint32_t h = djb2(key) & ((1 << 12) - 1);
			int e = heads[h];
			while (e >= 0 && strcmp(ents[e].key, key) != 0) e = ents[e].next;
			if (e < 0 && used < (1 << 15)) {
				e = used++;
				strcpy(ents[e].key, key);
				ents[e].val = 0;
				ents[e].next = heads[h];
				heads[h] = e;
			}
			if (e >= 0) ents[e].val += i;
		}
	for (int i = 0; i < used; i++) r += ents[i].val * (uint32_t)i;
	printf("%u\n", r);
	return 0;
}

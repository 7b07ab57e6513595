// recursion: naive Fibonacci, Ackermann and a recursive tree walk: calls
// dominate, loops are few. Part of isle bench sched's preemption rows.
#include <stdio.h>
#include <stdlib.h>

static unsigned fib(unsigned n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

static unsigned ack(unsigned m, unsigned n) {
	if (m == 0) return n + 1;
	if (n == 0) return ack(m - 1, 1);
	return ack(m - 1, ack(m, n - 1));
}

struct node { struct node *l, *r; unsigned v; };

static struct node *build(unsigned depth, unsigned *seed) {
	if (depth == 0) return NULL;
	struct node *n = malloc(sizeof *n);
	*seed = *seed * 1103515245u + 12345u;
	n->v = *seed >> 16;
	n->l = build(depth - 1, seed);
	n->r = build(depth - 1, seed);
	return n;
}

static unsigned walk(const struct node *n) { return n ? n->v ^ (walk(n->l) + 3 * walk(n->r)) : 0; }

int main(void) {
	unsigned seed = 1, r = fib(27) + ack(2, 2000);
	struct node *t = build(16, &seed);
	for (int i = 0; i < 20; i++) r += walk(t);
	printf("%u\n", r);
	return 0;
}

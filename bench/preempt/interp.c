// interp: a bytecode interpreter's dispatch loop (a switch in a loop)
// running a small program that counts primes by trial division. Part of
// isle bench sched's preemption rows.
#include <stdint.h>
#include <stdio.h>

enum { PUSH, LOAD, STORE, ADD, SUB, MOD, LT, JZ, JMP, HALT };

static int32_t run(const int32_t *code, int32_t *vars) {
	int32_t stack[64];
	int sp = 0, pc = 0;
	for (;;) {
		int32_t op = code[pc++];
		switch (op) {
		case PUSH: stack[sp++] = code[pc++]; break;
		case LOAD: stack[sp++] = vars[code[pc++]]; break;
		case STORE: vars[code[pc++]] = stack[--sp]; break;
		case ADD: sp--; stack[sp - 1] += stack[sp]; break;
		case SUB: sp--; stack[sp - 1] -= stack[sp]; break;
		case MOD: sp--; stack[sp - 1] %= stack[sp]; break;
		case LT: sp--; stack[sp - 1] = stack[sp - 1] < stack[sp]; break;
		case JZ: pc = stack[--sp] ? pc + 1 : code[pc]; break;
		case JMP: pc = code[pc]; break;
		default: return vars[2];
		}
	}
}

int main(void) {
	// vars: 0 n, 1 d, 2 count, 3 limit
	// for n = 2; n < limit; n++ { for d = 2; d < n && n % d; d++ {}; if d == n count++ }
	const int32_t prog[] = {
		PUSH, 2, STORE, 0,                         // 0: n = 2
		LOAD, 0, LOAD, 3, LT, JZ, 63,              // 4: outer: while n < limit
		PUSH, 2, STORE, 1,                         // 11: d = 2
		LOAD, 1, LOAD, 0, LT, JZ, 38,              // 15: inner: while d < n
		LOAD, 0, LOAD, 1, MOD, JZ, 38,             // 22: if n % d == 0 break
		LOAD, 1, PUSH, 1, ADD, STORE, 1, JMP, 15,  // 29: d++
		LOAD, 1, LOAD, 0, SUB, JZ, 47, JMP, 54,    // 38: check: if d == n
		LOAD, 2, PUSH, 1, ADD, STORE, 2,           // 47: count++
		LOAD, 0, PUSH, 1, ADD, STORE, 0, JMP, 4,   // 54: next: n++
		HALT,                                      // 63
	};
	int32_t vars[4] = {0, 0, 0, 6000};
	printf("%d\n", run(prog, vars));
	return 0;
}

// A deterministic workload for the trace tests (trace_test.go): it yields
// three times (alone on its core, so it keeps running), writes one line (a
// request to the console service) and exits with status 3.
#include <sched.h>
#include <unistd.h>

int main(void) {
	for (int i = 0; i < 3; i++)
		sched_yield();
	write(1, "traced\n", 7);
	return 3;
}

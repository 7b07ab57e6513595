// procs exercises isle's process API: it spawns children from the module
// given as argv[1] (which exits with the status given as its argument after
// --exit, or spins forever with "forever"), waits, kills, and checks the
// errors; one line per check, "ok NAME" or "FAIL NAME".
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "isle_proc.h"

#define ECHILD 12
#define EFAULT 21
#define ENOENT 44
#define ENOEXEC 45

static int fails;
static void check(int ok, const char *name) {
	printf("%s %s\n", ok ? "ok" : "FAIL", name);
	if (!ok) fails++;
}

static int spawn(const char *path, const char *args, size_t len, uint32_t *pid) {
	return isle_proc_spawn(path, strlen(path), args, len, 0, pid);
}

int main(int argc, char **argv) {
	const char *child = argv[1], *notwasm = argv[2];
	uint32_t pid, status;
	uint64_t cpu;
	static const char exit7[] = "child\0--exit\0" "7";
	check(spawn(child, exit7, sizeof exit7, &pid) == 0, "spawn");
	check(isle_proc_wait(pid, &status, &cpu) == 0 && status == 7, "wait returns the exit status");
	check(isle_proc_wait(pid, &status, &cpu) == ECHILD, "a reaped child is gone");
	check(isle_proc_wait(12345, &status, &cpu) == ECHILD, "waiting for a stranger is ECHILD");
	check(isle_proc_kill(1) == ECHILD, "killing a stranger is ECHILD");

	static const char forever[] = "loop\0forever";
	uint32_t looper;
	check(spawn(argv[3], forever, sizeof forever, &looper) == 0, "spawn a looper");
	struct timespec ts = {0, 20 * 1000 * 1000};
	nanosleep(&ts, NULL);
	check(isle_proc_kill(looper) == 0, "kill");
	check(isle_proc_wait(looper, &status, &cpu) == 0 && status == 137 && cpu > 0, "a killed child ends with 137");

	check(spawn("/nope/x.wasm", exit7, sizeof exit7, &pid) == ENOENT, "a path outside the preopens is ENOENT");
	char escape[256];
	snprintf(escape, sizeof escape, "%s/../../etc/passwd", child);
	check(spawn(escape, exit7, sizeof exit7, &pid) == ENOENT, "'..' does not escape a preopen");
	check(spawn(notwasm, exit7, sizeof exit7, &pid) == ENOEXEC, "a file that is not a module is ENOEXEC");
	check(isle_proc_spawn((const char *)0xFFFFFFF0u, 64, exit7, sizeof exit7, 0, &pid) == EFAULT, "a wild pointer is EFAULT");
	check(spawn(child, "unterminated", 12, &pid) != 0, "arguments must end with NUL");
	return fails;
}

// sqlbench: a SQLite workload with many small file calls (issue 16): a
// 200,000-row insert in one transaction, an index, a group-by, an update,
// a delete and a VACUUM, on a database in the directory given (argv[1]).
// It prints "sqlite_ns N", the time the workload took (open to close).
// Built at benchmark time against SQLite's amalgamation as npm's
// better-sqlite3 package ships it (bench/sqlite.go has the command).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "sqlite3.h"

#define ROWS 200000

static long long now(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int exec(sqlite3 *db, const char *sql) {
	char *err = 0;
	if (sqlite3_exec(db, sql, 0, 0, &err) != SQLITE_OK) {
		fprintf(stderr, "sqlbench: %s: %s\n", sql, err ? err : "?");
		return 1;
	}
	return 0;
}

int main(int argc, char **argv) {
	if (argc != 2) {
		fprintf(stderr, "usage: sqlbench DIR\n");
		return 2;
	}
	char path[512];
	snprintf(path, sizeof path, "%s/bench.db", argv[1]);
	unlink(path);
	long long t0 = now();
	sqlite3 *db;
	if (sqlite3_open(path, &db) != SQLITE_OK) {
		fprintf(stderr, "sqlbench: open %s: %s\n", path, sqlite3_errmsg(db));
		return 1;
	}
	if (exec(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, v TEXT)") || exec(db, "BEGIN"))
		return 1;
	sqlite3_stmt *ins;
	if (sqlite3_prepare_v2(db, "INSERT INTO t(k, v) VALUES(?, ?)", -1, &ins, 0) != SQLITE_OK)
		return 1;
	char v[64];
	unsigned x = 12345;
	for (int i = 0; i < ROWS; i++) {
		x = x * 1103515245u + 12345u;
		int n = snprintf(v, sizeof v, "value %u of row %d", x, i);
		sqlite3_bind_int(ins, 1, (int)(x % 100000));
		sqlite3_bind_text(ins, 2, v, n, SQLITE_STATIC);
		if (sqlite3_step(ins) != SQLITE_DONE) {
			fprintf(stderr, "sqlbench: insert: %s\n", sqlite3_errmsg(db));
			return 1;
		}
		sqlite3_reset(ins);
	}
	sqlite3_finalize(ins);
	if (exec(db, "COMMIT") || exec(db, "CREATE INDEX tk ON t(k)"))
		return 1;
	sqlite3_stmt *q;
	if (sqlite3_prepare_v2(db, "SELECT k % 100, count(*), sum(length(v)) FROM t GROUP BY 1", -1, &q, 0) != SQLITE_OK)
		return 1;
	long long groups = 0, total = 0;
	while (sqlite3_step(q) == SQLITE_ROW) {
		groups++;
		total += sqlite3_column_int64(q, 1);
	}
	sqlite3_finalize(q);
	if (groups != 100 || total != ROWS) {
		fprintf(stderr, "sqlbench: group-by gave %lld groups, %lld rows\n", groups, total);
		return 1;
	}
	if (exec(db, "UPDATE t SET v = v || ' updated' WHERE id % 7 = 0") ||
	    exec(db, "DELETE FROM t WHERE id % 5 = 0") || exec(db, "VACUUM"))
		return 1;
	sqlite3_close(db);
	printf("sqlite_ns %lld\n", now() - t0);
	return 0;
}

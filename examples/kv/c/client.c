/*
 * examples/kv C client: looks up "kv", stores, reads and deletes a key
 * through the stubs of kv.h (isle contract gen --lang c), then says Bye.
 */
#include <stdio.h>
#include <time.h>

#include "kv.h"

static uint8_t buf[4096];

static void show(const char *what, const KV_msg *m) {
	switch (m->id) {
	case KV_Value_ID:
		printf("%s: Value(found=%d, \"%.*s\")\n", what, m->u.Value.found, (int)m->u.Value.value.len, (const char *)m->u.Value.value.ptr);
		break;
	case KV_Done_ID:
		printf("%s: Done(%d)\n", what, m->u.Done.ok);
		break;
	case KV_Fail_ID:
		printf("%s: Fail(%.*s)\n", what, (int)m->u.Fail.reason.len, m->u.Fail.reason.ptr);
		break;
	default:
		printf("%s: message %u\n", what, m->id);
	}
}

#define CHECK(what, expr) do { int e_ = (expr); if (e_) { fprintf(stderr, "kv c client: %s: %s\n", what, isle_strerror(e_)); return 1; } } while (0)

int main(void) {
	KV_imp kv;
	int err;
	for (int tries = 0; (err = KV_lookup("kv", &kv)) == ISLE_ENONAME && tries < 5000; tries++) {
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, 0);
	}
	CHECK("lookup", err);
	KV_msg m;
	isle_str key = isle_s("c:size");
	CHECK("put", KV_imp_send_Put(kv, key, isle_b("large", 5)));
	CHECK("recv", KV_imp_recv(kv, &m, buf, sizeof buf));
	show("put", &m);
	CHECK("get", KV_imp_send_Get(kv, key));
	CHECK("recv", KV_imp_recv(kv, &m, buf, sizeof buf));
	show("get", &m);
	CHECK("delete", KV_imp_send_Delete(kv, key));
	CHECK("recv", KV_imp_recv(kv, &m, buf, sizeof buf));
	show("delete", &m);
	CHECK("get", KV_imp_send_Get(kv, key));
	CHECK("recv", KV_imp_recv(kv, &m, buf, sizeof buf));
	show("get", &m);
	/* Two requests in a row: the second is not allowed while the first waits. */
	CHECK("get", KV_imp_send_Get(kv, key));
	printf("second get before the answer: %s\n", isle_strerror(KV_imp_send_Get(kv, key)));
	CHECK("recv", KV_imp_recv(kv, &m, buf, sizeof buf));
	CHECK("bye", KV_imp_send_Bye(kv));
	CHECK("close", KV_imp_close(kv));
	printf("bye\n");
	return 0;
}

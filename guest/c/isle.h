/*
 * isle.h: isle's host ABI for C programs built with clang --target=wasm32-wasi.
 *
 * The functions of import module "isle" (internal/abi's table): channels
 * whose protocol is a contract, the exchange heap, and the name service.
 * Every function returns 0 or an ISLE_E* code. Handles name endpoints and
 * blocks in this SIP only; sending a message moves the endpoints in its
 * fields and the blocks attached to it to the receiver, and their handles
 * are dead in the sender afterwards.
 *
 * Application code normally uses the stubs `isle contract gen --lang c FILE`
 * generates, which encode and decode messages as C structs.
 */
#ifndef ISLE_H
#define ISLE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef uint32_t isle_handle;

enum {
	ISLE_OK = 0,
	ISLE_EBADHANDLE = 1,  /* forged, stale or already sent */
	ISLE_EWRONGTYPE = 2,  /* wrong kind, contract or side */
	ISLE_ENOTALLOWED = 3, /* the contract does not allow this message now */
	ISLE_EBADFIELDS = 4,  /* the payload does not match the message's fields */
	ISLE_ECLOSED = 5,     /* the peer is closed */
	ISLE_EQUOTA = 6,      /* handle or exchange-heap quota */
	ISLE_ETOOBIG = 7,     /* buffer too small (info.len says how much) or size past a limit */
	ISLE_EAGAIN = 8,      /* nothing to receive (ISLE_NONBLOCK) */
	ISLE_ENONAME = 9,     /* nobody registered that name */
	ISLE_EEXISTS = 10,    /* name already registered */
	ISLE_EMISMATCH = 11,  /* the service speaks another contract */
	ISLE_EFAULT = 12,     /* pointer or length outside memory */
	ISLE_EINVAL = 13,     /* malformed argument */
	ISLE_ENOSYS = 14,     /* no channel layer */
};

#define ISLE_MSG_CLOSED 0xFFFFu /* the implicit Closed message */
#define ISLE_FLAG_BREACH 1u     /* with Closed: the peer closed in a state that is not final */
#define ISLE_NONBLOCK 1u        /* recv flag */
#define ISLE_MAX_BLOCKS 8

typedef struct {
	uint32_t msg;     /* message ID, or ISLE_MSG_CLOSED */
	uint32_t len;     /* payload bytes */
	uint32_t index;   /* isle_recv_any: which endpoint */
	uint32_t flags;   /* ISLE_FLAG_BREACH */
	uint32_t nblocks; /* blocks that came with the message */
	isle_handle blocks[ISLE_MAX_BLOCKS];
} isle_recv_info;

#define ISLE_IMPORT(name) __attribute__((import_module("isle"), import_name(name)))

ISLE_IMPORT("channel_create") int isle_channel_create(const char *src, uint32_t src_len, const char *name, uint32_t name_len, isle_handle *imp, isle_handle *exp);
ISLE_IMPORT("send") int isle_send(isle_handle ep, uint32_t msg, const void *payload, uint32_t len, const isle_handle *blocks, uint32_t nblocks);
ISLE_IMPORT("recv") int isle_recv(isle_handle ep, void *buf, uint32_t cap, isle_recv_info *info, uint32_t flags);
ISLE_IMPORT("recv_any") int isle_recv_any(const isle_handle *eps, uint32_t n, void *buf, uint32_t cap, isle_recv_info *info, uint32_t flags);
ISLE_IMPORT("close") int isle_close(isle_handle h);
ISLE_IMPORT("block_alloc") int isle_block_alloc(uint32_t size, isle_handle *h);
ISLE_IMPORT("block_size") int isle_block_size(isle_handle h, uint32_t *size);
ISLE_IMPORT("block_read") int isle_block_read(isle_handle h, uint32_t off, void *buf, uint32_t len);
ISLE_IMPORT("block_write") int isle_block_write(isle_handle h, uint32_t off, const void *buf, uint32_t len);
ISLE_IMPORT("block_free") int isle_block_free(isle_handle h);
ISLE_IMPORT("register") int isle_register(const char *name, uint32_t name_len, const char *src, uint32_t src_len, const char *cname, uint32_t cname_len, isle_handle *listener);
ISLE_IMPORT("lookup") int isle_lookup(const char *name, uint32_t name_len, const char *src, uint32_t src_len, const char *cname, uint32_t cname_len, isle_handle *ep);

/* Accept the next connection on a listener: the exporter's end of its channel. */
static inline int isle_accept(isle_handle listener, isle_handle *ep) {
	uint8_t buf[4];
	isle_recv_info info;
	int err = isle_recv(listener, buf, sizeof buf, &info, 0);
	if (err) return err;
	if (info.msg == ISLE_MSG_CLOSED) return ISLE_ECLOSED;
	memcpy(ep, buf, 4);
	return 0;
}

static inline const char *isle_strerror(int e) {
	static const char *const t[] = {"ok", "bad handle", "handle of the wrong type", "message not allowed in this state",
		"payload does not match the message's fields", "channel closed", "quota exceeded", "too big",
		"nothing to receive", "no such name", "name already registered", "contracts differ",
		"bad pointer or length", "invalid argument", "no channel layer"};
	return e >= 0 && e < (int)(sizeof t / sizeof t[0]) ? t[e] : "unknown error";
}

/* Field encoding (docs/contracts.md), for generated stubs. */
typedef struct { const char *ptr; uint32_t len; } isle_str;
typedef struct { const uint8_t *ptr; uint32_t len; } isle_bytes;

static inline isle_str isle_s(const char *s) { isle_str r = {s, (uint32_t)strlen(s)}; return r; }
static inline isle_bytes isle_b(const void *p, uint32_t n) { isle_bytes r = {(const uint8_t *)p, n}; return r; }

static inline uint8_t *isle_put_u32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); return p + 4; }
static inline uint8_t *isle_put_u64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); return p + 8; }
static inline uint8_t *isle_put_f64(uint8_t *p, double v) { memcpy(p, &v, 8); return p + 8; }
static inline uint8_t *isle_put_bool(uint8_t *p, int v) { *p = v ? 1 : 0; return p + 1; }
static inline uint8_t *isle_put_mem(uint8_t *p, const void *s, uint32_t n) {
	p = isle_put_u32(p, n);
	if (n) memcpy(p, s, n);
	return p + n;
}
static inline uint32_t isle_get_u32(const uint8_t **p) { uint32_t v; memcpy(&v, *p, 4); *p += 4; return v; }
static inline uint64_t isle_get_u64(const uint8_t **p) { uint64_t v; memcpy(&v, *p, 8); *p += 8; return v; }
static inline double isle_get_f64(const uint8_t **p) { double v; memcpy(&v, *p, 8); *p += 8; return v; }
static inline int isle_get_bool(const uint8_t **p) { return *(*p)++ == 1; }
static inline isle_bytes isle_get_bytes(const uint8_t **p) {
	isle_bytes b;
	b.len = isle_get_u32(p);
	b.ptr = *p;
	*p += b.len;
	return b;
}
static inline isle_str isle_get_str(const uint8_t **p) {
	isle_bytes b = isle_get_bytes(p);
	isle_str s = {(const char *)b.ptr, b.len};
	return s;
}

/* Send a payload of n bytes built by fill into a stack or heap buffer. */
#define ISLE_SEND_BUF 256

#endif

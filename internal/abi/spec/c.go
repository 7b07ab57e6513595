package spec

import (
	"fmt"
	"strings"
)

func cHeader() string {
	var b strings.Builder
	fmt.Fprintf(&b, "/* %s */\n", Generated)
	b.WriteString(cPrelude)
	b.WriteString("enum {\n\tISLE_OK = 0,\n")
	for _, c := range Codes() {
		fmt.Fprintf(&b, "\t%s = %d, /* %s */\n", c.CName(), c.Value, c.Doc)
	}
	b.WriteString("};\n\n")
	for _, c := range Consts() {
		fmt.Fprintf(&b, "#define %s %#xu /* %s */\n", c.CName, c.Value, c.Doc)
	}
	b.WriteString("\ntypedef struct {\n")
	for _, f := range InfoFields() {
		fmt.Fprintf(&b, "\tuint32_t %s; /* %s */\n", f.Name, f.Doc)
	}
	b.WriteString("\tisle_handle blocks[ISLE_MAX_BLOCKS]; /* their handles, now this SIP's */\n} isle_recv_info;\n\n")
	b.WriteString("#define ISLE_IMPORT(name) __attribute__((import_module(\"isle\"), import_name(name)))\n\n")
	for _, f := range funcsOf(Channels) {
		fmt.Fprintf(&b, "/* %s */\nISLE_IMPORT(%q) %s\n", f.Doc, f.Name, cDecl(f))
	}
	b.WriteString("\nstatic inline const char *isle_strerror(int e) {\n\tswitch (e) {\n\tcase ISLE_OK: return \"ok\";\n")
	for _, c := range Codes() {
		fmt.Fprintf(&b, "\tcase %s: return %q;\n", c.CName(), c.Text)
	}
	b.WriteString("\t}\n\treturn \"unknown error\";\n}\n")
	b.WriteString(cHelpers)
	return b.String()
}

func cProcHeader() string {
	var b strings.Builder
	fmt.Fprintf(&b, "/* %s */\n", Generated)
	b.WriteString(cProcPrelude)
	for _, f := range funcsOf(Proc) {
		fmt.Fprintf(&b, "/* %s */\n__attribute__((import_module(\"isle\"), import_name(%q)))\n%s\n\n", f.Doc, f.Name, cDecl(f))
	}
	b.WriteString("#endif\n")
	return b.String()
}

const cPrelude = `/*
 * isle.h: isle's host ABI for C programs built with clang --target=wasm32-wasi.
 *
 * The functions of import module "isle" (internal/abi/spec's table): channels
 * whose protocol is a contract, the exchange heap, and the name service.
 * Every function returns 0 or an ISLE_E* code. Handles name endpoints and
 * blocks in this SIP only; sending a message moves the endpoints in its
 * fields and the blocks attached to it to the receiver, and their handles
 * are dead in the sender afterwards.
 *
 * Application code normally uses the stubs ` + "`isle contract gen --lang c FILE`" + `
 * generates, which encode and decode messages as C structs.
 */
#ifndef ISLE_H
#define ISLE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef uint32_t isle_handle;

`

const cProcPrelude = `/*
 * isle_proc.h: the process part of isle's host ABI (import module "isle"),
 * for C programs built with clang --target=wasm32-wasi. Each call returns 0
 * or a WASI errno (ENOENT, EACCES, ENOEXEC for a module that does not load,
 * ECHILD for a pid that is not the caller's child, EFAULT, EINVAL; EAGAIN
 * from a spawn past the machine's limit on a SIP tree's live descendants,
 * --max-procs; ENOMEM from one whose initial memory does not fit in the
 * machine's memory budget). A SIP's children end with it (killed) when it ends.
 */
#ifndef ISLE_PROC_H
#define ISLE_PROC_H

#include <stddef.h>
#include <stdint.h>

`

// cHelpers are isle.h's inline functions over the imports: accept, and the
// field encoding that generated stubs use (docs/contracts.md).
const cHelpers = `
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
`

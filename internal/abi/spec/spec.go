// Package spec declares module "isle", isle's own host ABI, once: every
// function with its parameters, the error codes, the flags and the layout of
// the receive record. Everything else that names them is derived from this
// table:
//
//   - internal/abi and internal/procapi bind the functions by name and take
//     their signatures from here (a test checks that every function is bound
//     once and nothing else is);
//   - internal/ipc's Error constants, guest/c/isle.h, guest/c/isle_proc.h and
//     guest/go's raw bindings are generated from it (Render; `go generate
//     ./internal/abi/spec`), and a test fails when a generated file is stale;
//   - `isle abi` prints it, as `isle wasi` prints WASI's table.
//
// The package is a leaf: data and text, no imports of the module.
package spec

// ModuleName is the import module of every function here.
const ModuleName = "isle"

// Part says which half of the ABI a function belongs to, and so which
// header and Go package declare it and what its error values mean.
type Part uint8

const (
	// Channels: channels, the exchange heap and the name service. The
	// functions return a Code.
	Channels Part = iota
	// Proc: processes (spawn, wait, kill). The functions return a WASI
	// errno, as the rest of a WASI program's calls do.
	Proc
)

func (p Part) String() string {
	if p == Proc {
		return "proc"
	}
	return "channels"
}

// Kind is a parameter's type as the guest sees it. Every parameter is an
// i32 in the module's signature; the kind says what the i32 holds.
type Kind uint8

const (
	Handle Kind = iota // an endpoint or block handle of the calling SIP
	U32                // an unsigned number (a message ID, a size, flags, a pid)
	I32                // a signed number (a nice value)
	Size               // a byte count (size_t in C, which is 32 bits on wasm32)
	In                 // a pointer to bytes the host reads
	Out                // a pointer to a value the host writes
)

// Param is one parameter of a function.
type Param struct {
	Name string // as C names it
	Kind Kind
	C    string // the C type where the kind's default is not precise enough ("const char *", "isle_handle *")
}

// Func is one function of module "isle".
type Func struct {
	Name   string
	Part   Part
	Params []Param
	Doc    string // one line: what it does, in the words of both headers
}

func p(name string, k Kind, c string) Param { return Param{Name: name, Kind: k, C: c} }

// Funcs returns every function of module "isle", channels first.
func Funcs() []Func {
	str := func(name string) []Param {
		return []Param{p(name, In, "const char *"), p(name+"_len", U32, "")}
	}
	cat := func(ps ...[]Param) []Param {
		var r []Param
		for _, x := range ps {
			r = append(r, x...)
		}
		return r
	}
	h := func(name string) Param { return p(name, Handle, "") }
	u := func(name string) Param { return p(name, U32, "") }
	hout := func(name string) Param { return p(name, Out, "isle_handle *") }
	info := p("info", Out, "isle_recv_info *")
	return []Func{
		{"channel_create", Channels, cat(str("src"), str("name"), []Param{hout("imp"), hout("exp")}),
			"a channel of the contract called name in the contract source src; both ends to the caller"},
		{"send", Channels, []Param{h("ep"), u("msg"), p("payload", In, "const void *"), u("len"), p("blocks", In, "const isle_handle *"), u("nblocks")},
			"send message msg on ep; the endpoints in its fields and the blocks move to the receiver"},
		{"recv", Channels, []Param{h("ep"), p("buf", Out, "void *"), u("cap"), info, u("flags")},
			"receive the next message on ep; blocks unless flags has ISLE_NONBLOCK"},
		{"recv_any", Channels, []Param{p("eps", In, "const isle_handle *"), u("n"), p("buf", Out, "void *"), u("cap"), info, u("flags")},
			"receive on the first of n endpoints that has a message; info.index says which"},
		{"close", Channels, []Param{h("h")},
			"close an endpoint (the peer sees Closed) or free a block"},
		{"block_alloc", Channels, []Param{u("size"), hout("h")},
			"a zeroed exchange-heap block of size bytes"},
		{"block_size", Channels, []Param{h("h"), p("size", Out, "uint32_t *")},
			"the size of a block"},
		{"block_read", Channels, []Param{h("h"), u("off"), p("buf", Out, "void *"), u("len")},
			"copy len bytes out of a block from offset off"},
		{"block_write", Channels, []Param{h("h"), u("off"), p("buf", In, "const void *"), u("len")},
			"copy len bytes into a block at offset off"},
		{"block_free", Channels, []Param{h("h")},
			"free a block (an endpoint is ISLE_EWRONGTYPE)"},
		{"register", Channels, cat(str("name"), str("src"), str("cname"), []Param{hout("listener")}),
			"serve contract cname under name; connections arrive on the listener as Connect(exp<C>)"},
		{"lookup", Channels, cat(str("name"), str("src"), str("cname"), []Param{hout("ep")}),
			"connect to the service called name, which must speak the same contract"},
		{"move", Channels, []Param{u("core")},
			"yield, and go on running on that core (for benchmarks and tests that need a SIP placed after a migration; the balancer may move it again); ISLE_EINVAL past the machine's cores"},
		{"proc_spawn", Proc, []Param{p("path", In, "const char *"), p("path_len", Size, ""), p("argv", In, "const char *"), p("argv_len", Size, ""), p("nice", I32, "int"), p("pid", Out, "uint32_t *")},
			"spawn a child SIP from the module file at path (a guest path under a --dir); argv is argv_len bytes of NUL-terminated strings, argv[0] first; nice is -20 (most CPU) to 19 (least)"},
		{"proc_spawn_on", Proc, []Param{u("node"), p("path", In, "const char *"), p("path_len", Size, ""), p("argv", In, "const char *"), p("argv_len", Size, ""), p("nice", I32, "int"), p("pid", Out, "uint32_t *")},
			"proc_spawn on node of the cluster (0 or the caller's own node: here), the module file read from that node's --dir; the pid is the caller's handle for proc_wait and proc_kill, the exit status coming back over the link; ENXIO: no such node, EHOSTUNREACH: node down or lost (then from proc_wait too), ECONNREFUSED: the node runs no machine"},
		{"proc_wait", Proc, []Param{u("pid"), p("status", Out, "uint32_t *"), p("cputime_ns", Out, "uint64_t *")},
			"wait for a child to end and reap it: its exit status (134 after a trap, 137 after a kill) and the CPU time it received"},
		{"proc_kill", Proc, []Param{u("pid")},
			"kill a child; it ends within one time slice, with status 137"},
	}
}

// Code is one error code of the channel functions: 0 is success.
type Code struct {
	Value uint32
	Name  string // the Go name without its Err prefix; the C name is ISLE_E + upper case
	Text  string // the message: "bad handle"
	Doc   string // when it is returned
}

// Codes returns the channel functions' error codes in order of value, from 1.
func Codes() []Code {
	return []Code{
		{1, "BadHandle", "bad handle", "not a live handle of this table: forged, stale, or already sent"},
		{2, "WrongType", "handle of the wrong type", "a handle of the wrong kind, contract or side"},
		{3, "NotAllowed", "message not allowed in this state", "the contract does not allow this message from this side now"},
		{4, "BadFields", "payload does not match the message's fields", "the payload does not match the message's fields"},
		{5, "Closed", "channel closed", "the peer endpoint is closed"},
		{6, "Quota", "quota exceeded", "a handle or exchange-heap quota would be exceeded"},
		{7, "TooBig", "too big", "a buffer is too small for the message (info.len says how much), or a size is past a limit"},
		{8, "Again", "nothing to receive", "nothing to receive (non-blocking receive)"},
		{9, "NoName", "no such name", "no service registered under that name"},
		{10, "Exists", "name already registered", "a service is already registered under that name"},
		{11, "Mismatch", "contracts differ", "the contracts of the two sides differ"},
		{12, "Fault", "bad pointer or length", "a pointer or length outside the guest's memory"},
		{13, "Invalid", "invalid argument", "a malformed argument (a contract that does not compile, a bad flag)"},
		{14, "NoSys", "no channel layer", "the SIP has no channel layer"},
	}
}

// Const is a named value of the ABI: a flag, a limit or a message ID.
type Const struct {
	Name  string // the Go name; the C name is ISLE_ + upper snake case (CName)
	CName string
	Value uint32
	Doc   string
}

// The ABI's constants, for the packages on the host side.
const (
	MsgClosed    = 0xFFFF // the message ID of the implicit Closed message
	FlagBreach   = 1      // info.flags with Closed: the peer closed in a state that is not final
	RecvNonblock = 1      // recv and recv_any flag: return Again instead of blocking
	MaxBlocks    = 8      // the most blocks one message carries
)

// Consts returns the ABI's constants as the generated files name them.
func Consts() []Const {
	return []Const{
		{"MsgClosed", "ISLE_MSG_CLOSED", MsgClosed, "the implicit Closed message: the peer's end is closed and everything it sent has been received"},
		{"FlagBreach", "ISLE_FLAG_BREACH", FlagBreach, "with Closed: the peer closed in a state that is not final"},
		{"Nonblock", "ISLE_NONBLOCK", RecvNonblock, "recv and recv_any flag: return ISLE_EAGAIN instead of blocking"},
		{"MaxBlocks", "ISLE_MAX_BLOCKS", MaxBlocks, "the most blocks one message carries"},
	}
}

// Field is one u32 field of struct isle_recv_info, the record recv and
// recv_any write; Blocks, an array of MaxBlocks handles, follows them.
type Field struct {
	Name string // as C names it
	Doc  string
}

// InfoFields returns the u32 fields of struct isle_recv_info in order; the
// i-th is at byte offset 4*i, and the blocks' handles at 4*len(InfoFields()).
func InfoFields() []Field {
	return []Field{
		{"msg", "message ID, or ISLE_MSG_CLOSED"},
		{"len", "payload bytes (the size needed, with ISLE_ETOOBIG)"},
		{"index", "isle_recv_any: which endpoint of the set"},
		{"flags", "ISLE_FLAG_BREACH"},
		{"nblocks", "blocks that came with the message"},
	}
}

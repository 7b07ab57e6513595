package service

// The operations' names, for a trace (kernel.OpNamer): a request to a
// service is drawn as a slice named by the service and the operation
// (docs/trace.md). Indexed by operation; an operation past a table, or a
// gap in it, is drawn as "op N".

var _, _, _, _ interface{ OpNames() []string } = (*ConsoleOut)(nil), (*ConsoleIn)(nil), (*FS)(nil), (*Net)(nil)

// OpNames names the console's operations.
func (c *ConsoleOut) OpNames() []string { return consoleOps() }

// OpNames names the console's operations.
func (c *ConsoleIn) OpNames() []string { return consoleOps() }

func consoleOps() []string {
	return []string{OpWrite: "write", OpRead: "read", OpReady: "ready"}
}

// OpNames names the file system's operations.
func (f *FS) OpNames() []string {
	names := map[uint32]string{
		FSOpen: "open", FSClose: "close", FSRead: "read", FSPread: "pread", FSWrite: "write",
		FSPwrite: "pwrite", FSSeek: "seek", FSStat: "stat", FSPathStat: "path stat", FSSetSize: "set size",
		FSSetTimes: "set times", FSPathSetTimes: "path set times", FSMkdir: "mkdir", FSUnlink: "unlink",
		FSRmdir: "rmdir", FSRename: "rename", FSLink: "link", FSSymlink: "symlink", FSReadlink: "readlink",
		FSReaddir: "readdir", FSSync: "sync", FSDatasync: "datasync", FSSetFlags: "set flags",
		FSAllocate: "allocate", FSCloseAll: "close all", FSAdopt: "adopt",
		FSBehind: "behind", FSSettle: "settle", FSBehindEnd: "behind end",
	}
	return opTable(names)
}

// OpNames names the network's operations.
func (n *Net) OpNames() []string {
	return opTable(map[uint32]string{
		NetAccept: "accept", NetRecv: "recv", NetSend: "send", NetShutdown: "shutdown",
		NetClose: "close", NetPoll: "poll", NetCloseAll: "close all",
	})
}

// opTable lays names out by operation.
func opTable(names map[uint32]string) []string {
	top := uint32(0)
	for op := range names {
		top = max(top, op)
	}
	ops := make([]string, top+1)
	for op, n := range names {
		ops[op] = n
	}
	return ops
}

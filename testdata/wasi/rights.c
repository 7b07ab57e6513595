// rights.c: WASI preview 1's rights model, called through the imports
// directly (wasi-libc would mask what it asks for). Run with /d preopened,
// empty. Checks what a preopen reports, that requested rights are an upper
// bound reduced to what the object supports, that a path_open past the
// directory's inheriting rights is ENOTCAPABLE, that rights only shrink,
// and path_link with and without SYMLINK_FOLLOW.
#include <stdio.h>
#include <string.h>
#include <wasi/api.h>

#define ALL ((__wasi_rights_t)(1ull << 29) - 1)
#define FILE_ONLY (__WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_SEEK | __WASI_RIGHTS_FD_TELL | __WASI_RIGHTS_FD_ALLOCATE | __WASI_RIGHTS_FD_FILESTAT_SET_SIZE | __WASI_RIGHTS_FD_DATASYNC | __WASI_RIGHTS_FD_SYNC | __WASI_RIGHTS_FD_ADVISE | __WASI_RIGHTS_POLL_FD_READWRITE)
#define DIR_ONLY (__WASI_RIGHTS_PATH_OPEN | __WASI_RIGHTS_FD_READDIR | __WASI_RIGHTS_PATH_CREATE_FILE | __WASI_RIGHTS_PATH_CREATE_DIRECTORY | __WASI_RIGHTS_PATH_UNLINK_FILE)

static int pre = 3;

static void show(const char *what, __wasi_fd_t fd) {
	__wasi_fdstat_t st;
	__wasi_errno_t e = __wasi_fd_fdstat_get(fd, &st);
	if (e) {
		printf("%s: fdstat errno %d\n", what, e);
		return;
	}
	printf("%s: type %d base %#llx inheriting %#llx file-only-in-base %s dir-only-in-base %s\n", what,
	       st.fs_filetype, (unsigned long long)st.fs_rights_base, (unsigned long long)st.fs_rights_inheriting,
	       st.fs_rights_base & FILE_ONLY ? "yes" : "no", st.fs_rights_base & DIR_ONLY ? "yes" : "no");
}

static __wasi_fd_t open_at(__wasi_fd_t dir, const char *what, const char *path, __wasi_lookupflags_t lf,
                           __wasi_oflags_t of, __wasi_rights_t base, __wasi_rights_t inh, __wasi_fdflags_t ff) {
	__wasi_fd_t fd = (__wasi_fd_t)-1;
	__wasi_errno_t e = __wasi_path_open(dir, lf, path, of, base, inh, ff, &fd);
	printf("%s: errno %d\n", what, e);
	return e ? (__wasi_fd_t)-1 : fd;
}

static void link_at(const char *what, __wasi_lookupflags_t lf, const char *old, const char *nw) {
	printf("%s: errno %d\n", what, __wasi_path_link(pre, lf, old, pre, nw));
}

int main(void) {
	show("preopen", pre);

	// A directory opened with every right asked for gets a directory's.
	__wasi_errno_t e = __wasi_path_create_directory(pre, "sub");
	printf("mkdir sub: errno %d\n", e);
	__wasi_fd_t d = open_at(pre, "open dir, all rights but fd_write", "sub", 0, 0,
	                        ALL & ~__WASI_RIGHTS_FD_WRITE, ALL, 0);
	show("  the dir", d);
	__wasi_fd_t dd = open_at(pre, "open dir, O_DIRECTORY, all rights", "sub", 0, __WASI_OFLAGS_DIRECTORY, ALL, ALL, 0);
	show("  the dir", dd);
	(void)__wasi_fd_close(dd);
	// A directory is never writable as a file.
	open_at(pre, "open dir with fd_write", "sub", 0, 0, __WASI_RIGHTS_FD_WRITE, 0, 0);
	open_at(pre, "open dir with O_TRUNC", "sub", 0, __WASI_OFLAGS_TRUNC, __WASI_RIGHTS_FD_READ, 0, 0);
	open_at(pre, "open dir with APPEND", "sub", 0, 0, __WASI_RIGHTS_FD_READ, 0, __WASI_FDFLAGS_APPEND);
	open_at(pre, "open dir with O_CREAT", "sub", 0, __WASI_OFLAGS_CREAT, __WASI_RIGHTS_FD_READ, 0, 0);
	open_at(pre, "O_DIRECTORY|O_CREAT", "new", 0, __WASI_OFLAGS_DIRECTORY | __WASI_OFLAGS_CREAT, 0, 0, 0);

	// A file gets a file's rights and no inheriting rights.
	__wasi_fd_t f = open_at(pre, "create file, all rights", "f", 0, __WASI_OFLAGS_CREAT, ALL, ALL, 0);
	show("  the file", f);
	__wasi_size_t n;
	__wasi_ciovec_t iov = {(const uint8_t *)"hello", 5};
	printf("  write: errno %d\n", __wasi_fd_write(f, &iov, 1, &n));

	// Rights only shrink.
	printf("  drop fd_write: errno %d\n", __wasi_fd_fdstat_set_rights(f, __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_SEEK, 0));
	show("  the file", f);
	printf("  write now: errno %d\n", __wasi_fd_write(f, &iov, 1, &n));
	printf("  grow back: errno %d\n", __wasi_fd_fdstat_set_rights(f, __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE, 0));
	printf("  same again: errno %d\n", __wasi_fd_fdstat_set_rights(f, __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_SEEK, 0));
	(void)__wasi_fd_close(f);

	// A directory whose inheriting rights lack fd_write opens files only
	// without it; one without path_open opens nothing.
	printf("dir: keep read-only inheriting: errno %d\n",
	       __wasi_fd_fdstat_set_rights(d, DIR_ONLY, __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_PATH_OPEN));
	printf("dir: grow inheriting: errno %d\n", __wasi_fd_fdstat_set_rights(d, DIR_ONLY, ALL));
	show("  the dir", d);
	__wasi_fd_t g = open_at(d, "  create for reading", "g", 0, __WASI_OFLAGS_CREAT, __WASI_RIGHTS_FD_READ, 0, 0);
	show("  its file", g);
	(void)__wasi_fd_close(g);
	open_at(d, "  open for writing", "g", 0, 0, __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE, 0, 0);
	open_at(d, "  open asking to inherit fd_write", "g", 0, 0, __WASI_RIGHTS_FD_READ, __WASI_RIGHTS_FD_WRITE, 0);
	printf("dir: drop path_open and path_create_file: errno %d\n",
	       __wasi_fd_fdstat_set_rights(d, __WASI_RIGHTS_FD_READDIR, __WASI_RIGHTS_FD_READ));
	open_at(d, "  open", "g", 0, 0, __WASI_RIGHTS_FD_READ, 0, 0);
	(void)__wasi_fd_close(d);

	// path_link: a final symlink is linked itself, or followed.
	printf("symlink: errno %d\n", __wasi_path_symlink("f", pre, "s"));
	link_at("link s (no follow)", 0, "s", "l1");
	link_at("link s (follow)", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "s", "l2");
	link_at("link sub (follow)", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "sub", "l3");
	link_at("link with bad flags", 2, "f", "l4");
	__wasi_filestat_t st;
	const char *names[] = {"l1", "l2", "f"};
	for (int i = 0; i < 3; i++) {
		e = __wasi_path_filestat_get(pre, 0, names[i], &st);
		printf("  %s: errno %d type %d nlink %llu size %llu\n", names[i], e, st.filetype,
		       (unsigned long long)st.nlink, (unsigned long long)st.size);
	}
	printf("escape: symlink to ../x: errno %d\n", __wasi_path_symlink("../x", pre, "out"));
	link_at("link out (follow)", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "out", "l5");
	return 0;
}

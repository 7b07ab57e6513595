// escape.c: every way out of the preopen "/d" is refused. The preopen holds
// "in.txt", a symlink "out" -> "../outside.txt", "abs" -> "/etc/passwd" and a
// directory "sub"; "outside.txt" lies next to the preopen on the host.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wasi/api.h>

static void try(const char *what, int r) {
	printf("%s: %s\n", what, r < 0 ? strerror(errno) : "OPENED");
}

// raw calls path_open on the preopen fd 3 with a path wasi-libc would
// otherwise rewrite, and prints the WASI errno.
static void raw(const char *path) {
	__wasi_fd_t fd;
	__wasi_errno_t e = __wasi_path_open(3, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, path, 0,
	                                     __WASI_RIGHTS_FD_READ, 0, 0, &fd);
	printf("raw %s: errno %d\n", path, e);
}

int main(void) {
	try("in.txt", open("/d/in.txt", O_RDONLY));
	try("../outside.txt", open("/d/../outside.txt", O_RDONLY));
	try("sub/../../outside.txt", open("/d/sub/../../outside.txt", O_RDONLY));
	try("symlink out", open("/d/out", O_RDONLY));
	try("symlink abs", open("/d/abs", O_RDONLY));
	try("create through symlink out", open("/d/out", O_WRONLY | O_CREAT, 0644));
	try("mkdir ../x", mkdir("/d/../x", 0755));
	raw("../outside.txt");
	raw("sub/../../outside.txt");
	raw("/etc/passwd");
	raw("out");
	raw("abs");
	raw("sub/../in.txt");
	int dfd = open("/d/sub", O_RDONLY | O_DIRECTORY);
	__wasi_fd_t fd;
	printf("raw sub ../in.txt from sub: errno %d\n",
	       __wasi_path_open(dfd, 0, "../in.txt", 0, __WASI_RIGHTS_FD_READ, 0, 0, &fd));
	struct stat st;
	try("stat symlink out", stat("/d/out", &st));
	try("lstat symlink out", lstat("/d/out", &st));
	try("symlink to absolute", symlink("/etc/passwd", "/d/newabs"));
	try("rename out of the preopen", rename("/d/in.txt", "/d/../stolen.txt"));
	return 0;
}

// dotdot.c: paths with many ".." components resolve as Linux resolves them
// (os.Root alone gives up on more than 8 runs of ".." past 255 steps, with
// ENAMETOOLONG): "sub/../" × n + "f" opens f, a missing last component is
// ENOENT (44), a missing or non-directory component before a ".." is ENOENT
// or ENOTDIR (54), a ".." above the preopen is EPERM (63), as every escape.
// A symlink before a ".." leads to its target's parent: "ln" -> "sub/inner",
// so "ln/.." is "sub"; more than 40 symlinks in one path are ELOOP (32), as
// Linux's MAXSYMLINKS; an absolute target is an escape (EPERM), a symlink to
// itself ELOOP.
// The preopen "/d" (fd 3) holds "f", a file, "sub", a directory with
// "inner", and the symlinks "ln" -> "sub/inner", "abs" -> "/" and "loop" -> "loop".
#include <stdio.h>
#include <string.h>
#include <wasi/api.h>

static char p[8192];

static const char *rep(const char *pre, const char *unit, int n, const char *post) {
	strcpy(p, pre);
	for (int i = 0; i < n; i++)
		strcat(p, unit);
	strcat(p, post);
	return p;
}

static void try(const char *what, int n) {
	__wasi_fd_t fd;
	printf("%s x%d: %d\n", what, n, __wasi_path_open(3, 0, p, 0, __WASI_RIGHTS_FD_READ, 0, 0, &fd));
}

int main(void) {
	int ns[] = {5, 200, 300};
	for (int i = 0; i < 3; i++) {
		int n = ns[i];
		rep("", "sub/../", n, "f"), try("sub/.. f", n);
		rep("", "sub/./../", n, "f"), try("sub/./.. f", n);
		rep("", "sub/../", n, "missing"), try("sub/.. missing", n);
		rep("", "missing/../", n, "f"), try("missing/.. f", n);
		rep("", "f/../", n, "f"), try("f/.. f", n);
		rep("", "sub/../", n, "../f"), try("sub/.. ../f", n);
		rep("sub/sub2/", "../", 0, ""), rep("", "sub/../", n, "sub/"), try("sub/.. sub/", n);
		rep("", "ln/../../", n, "f"), try("ln/../.. f", n);
		rep("", "sub/../", n, "ln/../inner/"), try("sub/.. ln/../inner/", n);
		rep("", "abs/../", n, "f"), try("abs/.. f", n);
		rep("", "loop/../", n, "f"), try("loop/.. f", n);
	}
	__wasi_filestat_t st;
	rep("", "sub/../", 200, "sub");
	printf("path_filestat_get sub/.. x200 sub: %d, filetype %d\n", __wasi_path_filestat_get(3, 0, p, &st), st.filetype);
	rep("", "sub/../", 200, "new");
	printf("path_create_directory sub/.. x200 new: %d\n", __wasi_path_create_directory(3, p));
	printf("path_remove_directory new: %d\n", __wasi_path_remove_directory(3, "new"));
	return 0;
}

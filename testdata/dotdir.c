// dotdir reads, lists and writes files by relative names, as a program run
// with its working directory preopened (`isle run --dir .`) does: it prints
// what it read, the sorted listing of ".", and writes out.txt.
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(void) {
	char buf[256];
	FILE *f = fopen("hello.txt", "r");
	if (!f || !fgets(buf, sizeof buf, f)) {
		perror("hello.txt");
		return 1;
	}
	fclose(f);
	printf("read: %s", buf);
	DIR *d = opendir(".");
	if (!d) {
		perror("opendir .");
		return 1;
	}
	char *names[64];
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < 64)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			names[n++] = strdup(e->d_name);
	closedir(d);
	qsort(names, n, sizeof names[0], cmp);
	printf("ls: [");
	for (int i = 0; i < n; i++)
		printf(i ? " %s" : "%s", names[i]);
	printf("]\n");
	f = fopen("out.txt", "w");
	if (!f || fputs("written\n", f) < 0 || fclose(f) != 0) {
		perror("out.txt");
		return 1;
	}
	return 0;
}

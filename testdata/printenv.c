// printenv prints its arguments ("argv[i] = ...") and then its environment,
// one variable a line ("env NAME=value"), in the order it was given.
#include <stdio.h>

extern char **environ;

int main(int argc, char **argv) {
	for (int i = 0; i < argc; i++)
		printf("argv[%d] = %s\n", i, argv[i]);
	for (char **e = environ; *e; e++)
		printf("env %s\n", *e);
	return 0;
}

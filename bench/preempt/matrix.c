// matrix: dense kernels of the PolyBench kind: a matrix product, a
// transpose-and-add and a 2D stencil over doubles. Part of isle bench
// sched's preemption rows.
#include <stdio.h>

#define N 160
static double a[N][N], b[N][N], c[N][N];

int main(void) {
	for (int i = 0; i < N; i++)
		for (int j = 0; j < N; j++) {
			a[i][j] = (i * j % 7) / 7.0;
			b[i][j] = (i + j % 11) / 11.0;
		}
	for (int i = 0; i < N; i++)
		for (int j = 0; j < N; j++) {
			double s = 0;
			for (int k = 0; k < N; k++) s += a[i][k] * b[k][j];
			c[i][j] = s;
		}
	for (int t = 0; t < 20; t++)
		for (int i = 1; i < N - 1; i++)
			for (int j = 1; j < N - 1; j++)
				a[i][j] = 0.2 * (c[i][j] + c[i - 1][j] + c[i + 1][j] + c[i][j - 1] + c[i][j + 1]) + b[j][i];
	double s = 0;
	for (int i = 0; i < N; i++)
		for (int j = 0; j < N; j++) s += a[i][j];
	printf("%.6f\n", s);
	return 0;
}

// true: the smallest C program, for isle bench sched's spawn-to-exit row
// (the counterpart of /bin/true in fork+exec+wait).
//
//	clang --target=wasm32-wasi -O2 -Wl,--strip-all -o bench/testdata/true.wasm bench/testdata/true.c
int main(void) { return 0; }

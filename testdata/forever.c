// forever spins without system calls until it is killed.
int main(void) {
	volatile unsigned long x = 0;
	for (;;)
		x++;
}

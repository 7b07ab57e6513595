// kernels runs one compute kernel a fixed number of times, for isle bench
// sched, which compares preemptible (rewritten) and original modules:
//
//	kernels sort|sha|matmul|fib|sieve
package main

import (
	"crypto/sha256"
	"fmt"
	"os"
	"sort"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: kernels sort|sha|matmul|fib|sieve")
		os.Exit(2)
	}
	var r uint64
	switch os.Args[1] {
	case "sort":
		x := uint64(88172645463325252)
		a := make([]uint64, 200_000)
		for rep := 0; rep < 3; rep++ {
			for i := range a {
				x ^= x << 13
				x ^= x >> 7
				x ^= x << 17
				a[i] = x
			}
			sort.Slice(a, func(i, j int) bool { return a[i] < a[j] })
			r += a[len(a)/2]
		}
	case "sha":
		b := make([]byte, 1<<20)
		for i := range b {
			b[i] = byte(i)
		}
		for rep := 0; rep < 20; rep++ {
			s := sha256.Sum256(b)
			b[0] = s[0]
			r += uint64(s[1])
		}
	case "matmul":
		const n = 160
		a, b, c := make([]float64, n*n), make([]float64, n*n), make([]float64, n*n)
		for i := range a {
			a[i], b[i] = float64(i%7), float64(i%11)
		}
		for i := 0; i < n; i++ {
			for k := 0; k < n; k++ {
				aik := a[i*n+k]
				for j := 0; j < n; j++ {
					c[i*n+j] += aik * b[k*n+j]
				}
			}
		}
		r = uint64(c[n*n/2])
	case "fib":
		var fib func(int) uint64
		fib = func(n int) uint64 {
			if n < 2 {
				return uint64(n)
			}
			return fib(n-1) + fib(n-2)
		}
		r = fib(30)
	case "sieve":
		const n = 5_000_000
		composite := make([]bool, n)
		for i := 2; i*i < n; i++ {
			if !composite[i] {
				for j := i * i; j < n; j += i {
					composite[j] = true
				}
			}
		}
		for i := 2; i < n; i++ {
			if !composite[i] {
				r++
			}
		}
	default:
		fmt.Fprintln(os.Stderr, "kernels: unknown kernel", os.Args[1])
		os.Exit(2)
	}
	fmt.Println(r)
}

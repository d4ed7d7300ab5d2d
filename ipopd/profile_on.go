//go:build profile

package main

import (
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"
)

// startProfile writes CPU and heap profiles when IPOPD_PROFILE names a
// path prefix: <prefix>.<pid>.cpu for the whole run, <prefix>.<pid>.heap
// at the end.
// Only in binaries built with -tags profile (make profile-build): pprof
// costs the router binary more flash than it has to spare.
func startProfile() (stop func()) {
	base := os.Getenv("IPOPD_PROFILE")
	if base == "" {
		return func() {}
	}
	// One sample per 4 KiB allocated: per-peer objects of a few hundred
	// bytes show in the live heap (the default samples every 512 KiB).
	runtime.MemProfileRate = 4096
	prefix := fmt.Sprintf("%s.%d", base, os.Getpid())
	f, err := os.Create(prefix + ".cpu")
	if err != nil {
		fmt.Fprintln(os.Stderr, "ipopd: profile:", err)
		return func() {}
	}
	// SIGUSR1: the runtime's account of memory as it is
	// (<prefix>.live.mem), then a snapshot of the live heap
	// (<prefix>.live.heap, after a collection).
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	go func() {
		for range usr1 {
			writeMemStats(prefix + ".live.mem")
			runtime.GC()
			if h, err := os.Create(prefix + ".live.heap"); err == nil {
				_ = pprof.Lookup("heap").WriteTo(h, 0)
				h.Close()
			}
		}
	}()
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "ipopd: profile:", err)
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
		if h, err := os.Create(prefix + ".heap"); err == nil {
			_ = pprof.Lookup("allocs").WriteTo(h, 0)
			h.Close()
		}
		writeMemStats(prefix + ".mem")
	}
}

// writeMemStats writes the runtime's own account of memory, to set
// against VmRSS.
func writeMemStats(file string) {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	if h, err := os.Create(file); err == nil {
		fmt.Fprintf(h, "HeapAlloc %d\nHeapInuse %d\nHeapIdle %d\nHeapReleased %d\nNextGC %d\nStackInuse %d\nMSpanInuse %d\nGCSys %d\nOtherSys %d\nSys %d\nNumGC %d\n",
			m.HeapAlloc, m.HeapInuse, m.HeapIdle, m.HeapReleased, m.NextGC, m.StackInuse, m.MSpanInuse, m.GCSys, m.OtherSys, m.Sys, m.NumGC)
		h.Close()
	}
}

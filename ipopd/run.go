package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/ipopd/ipopd/internal/daemon"
	"github.com/ipopd/ipopd/uci/ipopconf"
)

func cmdRun(args []string) error {
	c := newCommand("run", "", "Run the daemon in the foreground. SIGTERM stops it cleanly; SIGHUP reloads\nthe configuration without dropping links.")
	config, state := commonFlags(c)
	_, err := c.parseN(args, 0)
	if err != nil {
		return err
	}
	cfg, err := ipopconf.Load(*config)
	if err != nil {
		return err
	}
	if !cfg.Enabled {
		fmt.Fprintf(os.Stderr, "ipopd: disabled in %s (option enabled '0'); not starting\n", *config)
		return nil
	}
	level := new(slog.LevelVar)
	level.Set(cfg.LogLevel)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	applyMemory(cfg, log)

	d, err := daemon.New(daemon.Options{Config: cfg, ConfigPath: *config, StateDir: *state, Version: version, Logger: log})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	reload := make(chan ipopconf.Config)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
			}
			nc, err := ipopconf.Load(*config)
			if err != nil {
				log.Error("reload failed; keeping the running configuration", "err", err)
				continue
			}
			level.Set(nc.LogLevel)
			applyMemory(nc, log)
			select {
			case reload <- nc:
			case <-ctx.Done():
				return
			}
		}
	}()
	stopProfile := startProfile()
	defer stopProfile()
	return d.Run(ctx, reload)
}

// applyMemory sets the Go memory limit and GC percentage from UCI. The
// defaults suit a 64 MiB router: a soft limit well under the RAM, so the
// collector works harder before the kernel's OOM killer has to.
func applyMemory(cfg ipopconf.Config, log *slog.Logger) {
	if cfg.GoMemLimit > 0 {
		debug.SetMemoryLimit(cfg.GoMemLimit)
	}
	switch {
	case cfg.GOGC == ipopconf.GOGCOff:
		debug.SetGCPercent(-1)
	case cfg.GOGC != 0:
		debug.SetGCPercent(cfg.GOGC)
	}
	log.Debug("memory settings", "gomemlimit", cfg.GoMemLimit, "gogc", cfg.GOGC)
}

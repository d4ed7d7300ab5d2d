//go:build !linux

package netlab

import "syscall"

// childAttr: there is no parent-death signal outside Linux (and no
// network namespaces either, so no Lab gets this far).
func childAttr() *syscall.SysProcAttr { return nil }

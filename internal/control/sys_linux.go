package control

import "syscall"

var errConnRefused = syscall.ECONNREFUSED

func umask(m int) int { return syscall.Umask(m) }

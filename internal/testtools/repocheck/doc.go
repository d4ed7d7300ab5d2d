// Package repocheck holds tests of the repository itself rather than of
// Go code: the script that installs the tools make demo and make test
// need (internal/testtools/deps.sh), and that no build output (an ELF
// binary) is committed.
package repocheck

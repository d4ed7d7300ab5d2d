// Package scale holds what the scale measurements of issue 11 share: the
// in-process group (package daemon's TestScaleInProcess) and the
// network-namespace lab (package e2e's TestScaleLab) both print their
// figures with Table.
//
// It is test support, imported only by tests.
package scale

//go:build !profile

package main

// startProfile does nothing in release builds; see profile_on.go.
func startProfile() (stop func()) { return func() {} }

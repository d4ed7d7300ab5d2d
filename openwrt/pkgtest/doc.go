// Package pkgtest tests the OpenWRT packaging of ipopd without an OpenWRT
// system: the procd init script run against recording stand-ins of procd's
// shell helpers, the uci-defaults script run twice against a default
// router's /etc/config with a fake uci command (package fakeuci), the LuCI
// app's JavaScript (syntax, module shape, the QR encoder) and the agreement
// between the ubus methods the views call, the rpcd ACLs and
// openwrt/luci-app-ipop/ubus-methods.txt. It has no non-test code.
package pkgtest

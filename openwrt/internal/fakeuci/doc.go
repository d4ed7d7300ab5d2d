// Package fakeuci implements the subset of OpenWRT's uci command line that
// the ipopd package scripts use, on top of the project's own UCI parser
// (github.com/ipopd/ipopd/uci), so tests can run those scripts against a
// scratch /etc/config on a machine without OpenWRT.
//
// Supported, with the real tool's syntax and exit codes:
//
//	uci [-q] [-c CONFDIR] [-t SAVEDIR] get CONFIG.SECTION[.OPTION]
//	uci [-q] ... set CONFIG.SECTION=TYPE | CONFIG.SECTION.OPTION=VALUE
//	uci [-q] ... add_list CONFIG.SECTION.OPTION=VALUE
//	uci [-q] ... delete CONFIG.SECTION[.OPTION]
//	uci [-q] ... commit [CONFIG]
//
// SECTION is a name or @TYPE[N]. As in uci, set, add_list and delete only
// stage a change (here: a whole edited copy of the file under SAVEDIR);
// get sees staged changes, and commit writes them to CONFDIR. A script that
// forgets to commit therefore leaves CONFDIR untouched, as on a router.
//
// Unlike uci, which re-exports a committed file in its own style and drops
// comments, files are edited in place by package uci: everything the script
// did not touch stays byte for byte as it was.
package fakeuci

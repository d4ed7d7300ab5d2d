# nslab.sh, sourced by demo.sh and profile.sh: a laboratory of network
# namespaces that the script owns. The caller sets P (a prefix unique to
# the run, for namespaces and veths), WORK (a scratch directory) and LAB
# (a name for the goodbye line), then uses ns, x and link; daemons it
# starts go in PIDS. Everything is removed on exit, also on failure.
#
# Safety: every namespace and veth is the lab's own (unique names, veths
# created in the root namespace and renamed only inside their namespace);
# nothing of the host is touched.
NS=()
PIDS=()

lab_cleanup() {
	set +e
	# Stop the daemons (SIGTERM: they say goodbye and remove their TAP),
	# then anything else still running in the lab's namespaces.
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	for n in "${NS[@]}"; do
		pids=$(ip netns pids "$n" 2>/dev/null)
		[ -n "$pids" ] && kill -KILL $pids 2>/dev/null
	done
	for n in "${NS[@]}"; do ip netns del "$n" 2>/dev/null; done
	rm -rf "$WORK"
	echo "$LAB: cleaned up (namespaces, daemons, $WORK)"
}
trap lab_cleanup EXIT INT TERM

# ns NAME: a namespace $P-NAME with its loopback up.
ns() { local n="$P-$1"; ip netns add "$n"; NS+=("$n"); ip -n "$n" link set lo up; }
# x NAME CMD...: run CMD in namespace $P-NAME.
x() { local n="$P-$1"; shift; ip netns exec "$n" "$@"; }
lab_links=0
# link A IFA B IFB: a veth pair made in the root namespace under unique
# names, moved at once, renamed only inside the target namespaces.
link() {
	lab_links=$((lab_links + 1))
	local a="${P}a$lab_links" b="${P}b$lab_links"
	ip link add "$a" type veth peer name "$b"
	ip link set "$a" netns "$P-$1"
	ip link set "$b" netns "$P-$3"
	x "$1" ip link set "$a" name "$2"
	x "$3" ip link set "$b" name "$4"
	x "$1" ip link set "$2" up
	x "$3" ip link set "$4" up
}

# Stand-in for OpenWRT's /lib/functions.sh: the config_* helpers an init
# script uses, reading values with the uci command on PATH.

config_load() {
	CONFIG_PACKAGE="$1"
}

# config_get VAR SECTION OPTION [DEFAULT]
config_get() {
	local __val
	__val="$(uci -q get "$CONFIG_PACKAGE.$2.$3")" || __val="$4"
	eval "$1=\$__val"
}

# config_get_bool VAR SECTION OPTION [DEFAULT], with uci's boolean words.
config_get_bool() {
	local __b
	config_get __b "$2" "$3" "$4"
	case "$__b" in
	1 | on | true | yes | enabled) __b=1 ;;
	0 | off | false | no | disabled) __b=0 ;;
	*) __b="$4" ;;
	esac
	eval "$1=\$__b"
}

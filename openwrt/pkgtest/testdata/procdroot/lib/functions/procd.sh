# Recording stand-in for OpenWRT's /lib/functions/procd.sh: every helper
# appends one line "NAME<TAB>ARG<TAB>ARG..." to $PROCD_LOG instead of
# talking to procd. procd_close_service calls service_triggers between
# trigger markers, as the real one does.

_rec() {
	{
		printf '%s' "$1"
		shift
		for __a in "$@"; do
			printf '\t%s' "$__a"
		done
		printf '\n'
	} >>"$PROCD_LOG"
}

for __f in procd_lock procd_open_service procd_open_instance procd_close_instance \
	procd_set_param procd_append_param procd_open_data procd_close_data \
	procd_add_reload_trigger procd_add_interface_trigger procd_add_reload_interface_trigger \
	procd_add_config_trigger procd_add_raw_trigger procd_add_reload_data_trigger \
	procd_add_validation procd_set_config_changed procd_send_signal procd_kill procd_running \
	json_init json_add_array json_add_object json_add_string json_add_int json_add_boolean \
	json_close_object json_close_array json_select; do
	eval "$__f() { _rec $__f \"\$@\"; }"
done

procd_close_service() {
	_rec procd_open_trigger
	service_triggers
	_rec procd_close_trigger
	_rec procd_close_service "$@"
}

# Never touch the test machine's filesystem from the script under test.
mkdir() {
	_rec mkdir "$@"
}

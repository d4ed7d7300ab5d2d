'use strict';
'require view';
'require form';

// Settings page: a form over /etc/config/ipop (config ipopd 'main'). Save &
// Apply commits the file; the init script's reload trigger then sends ipopd
// SIGHUP, which applies the change and keeps live links.
//
// Form rules that matter here (LUCI.md §6): a value equal to o.default is
// removed from the file, so every default below equals ipopd's built-in
// default (docs/config.md); options without a daemon default use only a
// placeholder. ipopd refuses option names it does not know, so the form
// offers only options the daemon has.

// The interface name rules of docs/config.md.
function validIfname(section_id, value) {
	if (value === '' || (/^[^\s\/:]{1,15}$/.test(value) && value !== '.' && value !== '..'))
		return true;
	return _('1-15 characters, no spaces, "/" or ":"');
}

// HOST:PORT with an IPv4 address, a DNS name or an [IPv6] address.
function validEndpoint(section_id, value) {
	if (value === '')
		return true;
	const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
	if (m && +m[2] >= 1 && +m[2] <= 65535)
		return true;
	return _('Expecting HOST:PORT, e.g. vpn.example.org:6464 or [2001:db8::1]:6464');
}

function range(lo, hi) {
	return function(section_id, value) {
		if (value === '' || (/^\d+$/.test(value) && +value >= lo && +value <= hi))
			return true;
		return _('Expecting a whole number from %d to %d').format(lo, hi);
	};
}

return view.extend({
	render() {
		const m = new form.Map('ipop', _('ipop settings'),
			_('Settings of ipopd, stored in /etc/config/ipop. Group membership is managed on the Join and Invite pages.'));
		const s = m.section(form.NamedSection, 'main', 'ipopd');
		let o;

		s.tab('general', _('General'));
		s.tab('network', _('Network'));
		s.tab('switch', _('Switch'));
		s.tab('relay', _('Lighthouse'));
		s.tab('advanced', _('Advanced'));

		// -- Lighthouse
		o = s.taboption('relay', form.Flag, 'lighthouse', _('Lighthouse'),
			_('Answer STUN, keep the directory of members and coordinate hole punching. Only on a router the others can reach (public address).'));
		o.rmempty = false;
		o.default = '0';

		o = s.taboption('relay', form.Flag, 'relay', _('Relay'),
			_('When a lighthouse, relay traffic between members whose NATs defeat hole punching. The relay sees only ciphertext.'));
		o.rmempty = false;
		o.default = '1';

		o = s.taboption('relay', form.Value, 'turn_server', _('TURN server'),
			_('HOST:PORT of a standard TURN server (UDP) to relay through when no lighthouse can.'));
		o.placeholder = 'turn.example.org:3478';
		o.rmempty = true;

		o = s.taboption('relay', form.Value, 'turn_username', _('TURN user name'));
		o.depends({ turn_server: /.+/ });
		o.rmempty = true;

		o = s.taboption('relay', form.Value, 'turn_password', _('TURN password'));
		o.password = true;
		o.depends({ turn_server: /.+/ });
		o.rmempty = true;

		// -- General
		o = s.taboption('general', form.Flag, 'enabled', _('Enable'),
			_('Run ipopd. When off, the service stays stopped.'));
		o.rmempty = false;
		o.default = '1';

		o = s.taboption('general', form.Value, 'listen_port', _('UDP port'),
			_('The one UDP port for all overlay traffic; the firewall opens it on wan.'));
		o.datatype = 'port';
		o.default = '6464';
		o.placeholder = '6464';

		o = s.taboption('general', form.DynamicList, 'endpoint', _('Bootstrap peers'),
			_('Static or bootstrap members as HOST:PORT. Usually filled in by joining with an invite.'));
		o.validate = validEndpoint;
		o.placeholder = 'vpn.example.org:6464';

		o = s.taboption('general', form.ListValue, 'log_level', _('Log level'),
			_('How much ipopd writes to the system log.'));
		o.value('debug', _('Debug'));
		o.value('info', _('Info'));
		o.value('warn', _('Warning'));
		o.value('error', _('Error'));
		o.default = 'info';

		// -- Network
		o = s.taboption('network', form.Value, 'bridge', _('Bridge'),
			_('Where the devices of the other routers appear: the dedicated VPN network (br-ipop, the default of the package), or the LAN itself (br-lan: "bridge into lan"; the guards below keep DHCP and router advertisements from crossing). Empty: no bridge.'));
		o.value('br-ipop', _('br-ipop: dedicated VPN network'));
		o.value('br-lan', _('br-lan: bridge into the LAN'));
		o.validate = validIfname;
		o.placeholder = _('none');

		o = s.taboption('network', form.Value, 'interface', _('TAP device'),
			_('Name of the virtual Ethernet device ipopd creates.'));
		o.validate = validIfname;
		o.default = 'ipop0';
		o.placeholder = 'ipop0';

		o = s.taboption('network', form.Value, 'mtu', _('MTU'), _('MTU of the TAP device (1280-9000).'));
		o.validate = range(1280, 9000);
		o.default = '1500';
		o.placeholder = '1500';

		o = s.taboption('network', form.Value, 'underlay_mtu', _('Underlay MTU'),
			_('MTU of the path between routers (576-9000); larger frames are fragmented by ipopd.'));
		o.validate = range(576, 9000);
		o.default = '1500';
		o.placeholder = '1500';

		// -- Switch
		o = s.taboption('switch', form.Flag, 'guard_dhcp', _('Block DHCP servers across sites'),
			_('DHCPv4/DHCPv6 server messages do not cross the overlay, so each router serves only its own devices.'));
		o.default = '1';

		o = s.taboption('switch', form.Flag, 'guard_ra', _('Block router advertisements across sites'),
			_('IPv6 router advertisements do not cross the overlay.'));
		o.default = '1';

		o = s.taboption('switch', form.Flag, 'mss_clamp', _('Clamp TCP MSS'),
			_('Lower the MSS of TCP connections crossing the overlay so each segment fits one encrypted datagram (faster; other traffic keeps full frames).'));
		o.rmempty = false;
		o.default = '1';

		o = s.taboption('switch', form.Value, 'flood_limit', _('Broadcast limit'),
			_('Broadcast/multicast frames per second accepted from each peer; 0 = unlimited.'));
		o.validate = range(0, 1000000);
		o.default = '500';
		o.placeholder = '500';

		o = s.taboption('switch', form.Value, 'flood_burst', _('Broadcast burst'),
			_('Frames allowed above the limit in a burst; at least 1 when a limit is set.'));
		o.validate = range(0, 1000000);
		o.default = '1000';
		o.placeholder = '1000';

		o = s.taboption('switch', form.Value, 'mac_aging', _('MAC aging (s)'),
			_('How long a learned MAC address stays in the switch table (10-86400 s).'));
		o.validate = range(10, 86400);
		o.default = '300';
		o.placeholder = '300';

		// -- Advanced
		o = s.taboption('advanced', form.Value, 'keepalive', _('Keepalive (s)'),
			_('Seconds between keepalives on an idle link (1-600).'));
		o.validate = range(1, 600);
		o.default = '5';
		o.placeholder = '5';

		o = s.taboption('advanced', form.Value, 'rekey_interval', _('Rekey interval (s)'),
			_('Longest life of a link\'s encryption key: a new handshake replaces it this often (10-86400).'));
		o.validate = range(10, 86400);
		o.default = '120';
		o.placeholder = '120';

		o = s.taboption('advanced', form.Value, 'control_socket', _('Control socket'),
			_('Unix socket the ipopd command line talks to.'));
		o.validate = function(section_id, value) {
			if (value === '' || (/^\/\S*$/.test(value) && value.length <= 107))
				return true;
			return _('Expecting an absolute path of at most 107 bytes');
		};
		o.default = '/var/run/ipopd.sock';
		o.placeholder = '/var/run/ipopd.sock';

		o = s.taboption('advanced', form.Value, 'gomemlimit', _('Memory limit'),
			_('Go memory limit such as 24MiB (at least 4MiB); empty = no limit. Useful on small routers.'));
		o.validate = function(section_id, value) {
			if (value === '' || /^\d+(B|KiB|MiB|GiB|TiB)?$/.test(value))
				return true;
			return _('Expecting a size such as 24MiB');
		};
		o.placeholder = '24MiB';

		o = s.taboption('advanced', form.Value, 'gogc', _('GC target (%)'),
			_('Go garbage collector target in percent (1-10000), or "off" together with a memory limit; empty = 100.'));
		o.validate = function(section_id, value) {
			if (value === '' || value === 'off' || (/^\d+$/.test(value) && +value >= 1 && +value <= 10000))
				return true;
			return _('Expecting 1-10000 or off');
		};
		o.placeholder = '100';

		return m.render();
	}
});

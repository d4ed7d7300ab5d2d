'use strict';
'require view';
'require rpc';
'require poll';
'require ui';

// Overview page: the state of this router in its group and the table of
// peers, refreshed every few seconds (ubus ipop status and ipop peers), so a
// peer going up or down (ipop.peer.up / ipop.peer.down) shows within one
// poll interval. Every string that came from the network is put into the
// page as text, never as HTML.

const POLL_SECONDS = 3;

const callStatus = rpc.declare({ object: 'ipop', method: 'status', expect: { '': {} } });
const callPeers = rpc.declare({ object: 'ipop', method: 'peers', expect: { peers: [] } });
const callRevoke = rpc.declare({ object: 'ipop', method: 'revoke', params: [ 'node' ] });

// text wraps untrusted data in an element with a text child.
const text = (s) => E('span', {}, [ String(s ?? '') ]);

// seconds accepts a JSON time (RFC 3339 string) or Unix seconds and returns
// the seconds elapsed since then, or null.
function secondsSince(t) {
	let ms = null;
	if (typeof t === 'number' && t > 0)
		ms = t * 1000;
	else if (typeof t === 'string' && t !== '' && !t.startsWith('0001-'))
		ms = Date.parse(t);
	if (ms === null || isNaN(ms))
		return null;
	return Math.max(0, Math.floor((Date.now() - ms) / 1000));
}

function duration(secs) {
	if (secs === null || secs === undefined || isNaN(secs))
		return '-';
	secs = Math.floor(secs);
	const d = Math.floor(secs / 86400), h = Math.floor(secs / 3600) % 24,
		m = Math.floor(secs / 60) % 60, s = secs % 60;
	if (d > 0)
		return _('%dd %dh').format(d, h);
	if (h > 0)
		return _('%dh %dm').format(h, m);
	if (m > 0)
		return _('%dm %ds').format(m, s);
	return _('%ds').format(s);
}

function bytes(n) {
	return (typeof n === 'number' && n >= 0) ? '%1024.2mB'.format(n) : '-';
}

function stateBadge(state) {
	const up = (state === 'up' || state === 'running' || state === 'joined');
	return E('span', { 'class': up ? 'label success' : 'label' }, [ String(state ?? _('unknown')) ]);
}

return view.extend({
	load() {
		return Promise.all([
			callStatus().catch(e => ({ error: e.message })),
			callPeers().catch(() => [])
		]);
	},

	render([ st, peers ]) {
		this.summary = E('div', { 'class': 'table', 'id': 'ipop-status' });
		this.table = new ui.Table(
			[ _('Peer'), _('Address'), _('State'), _('Path'), _('Endpoint'), _('RTT'), _('Received'), _('Sent'), _('Up since'), '' ],
			{ id: 'ipop-peers', sortable: true },
			E('em', [ _('No peers') ]));

		this.update(st, peers);
		poll.add(() => Promise.all([
			callStatus().catch(e => ({ error: e.message })),
			callPeers().catch(() => [])
		]).then(([ s, p ]) => this.update(s, p)), POLL_SECONDS);

		return E('div', { 'class': 'cbi-map' }, [
			E('h2', [ _('ipop GroupVPN') ]),
			E('div', { 'class': 'cbi-map-descr' }, [
				_('The devices on this router\'s VPN network share one network with the devices of every member router.')
			]),
			E('div', { 'class': 'cbi-section' }, [ E('h3', [ _('This router') ]), this.summary ]),
			E('div', { 'class': 'cbi-section' }, [ E('h3', [ _('Peers') ]), this.table.render() ])
		]);
	},

	update(st, peers) {
		st = (st && typeof st === 'object') ? st : {};
		const rows = [];
		const row = (label, value) => rows.push(E('div', { 'class': 'tr' }, [
			E('div', { 'class': 'td left', 'width': '33%' }, [ label ]),
			E('div', { 'class': 'td left' }, [ value ])
		]));
		if (st.error) {
			row(_('State'), E('span', { 'class': 'label warning' }, [ _('ipopd is not answering: %s').format(st.error) ]));
		} else {
			row(_('State'), stateBadge(st.state));
			row(_('Group'), text(st.group || _('not joined')));
			row(_('Name'), text(st.name));
			row(_('Node ID'), E('code', {}, [ String(st.node_id ?? '') ]));
			row(_('Address'), text(st.address || '-'));
			row(_('Listening on'), text(st.listen));
			row(_('Peers up'), text('%d / %d'.format(st.peers_up ?? 0, st.peers ?? 0)));
			row(_('Learned MAC addresses'), text(st.macs ?? 0));
			row(_('Uptime'), text(duration(st.uptime)));
			row(_('Version'), text(st.version));
		}
		this.summary.replaceChildren(...rows);

		const list = Array.isArray(peers) ? peers : [];
		this.table.update(list.map(p => {
			const since = secondsSince(p.since);
			const rtt = (typeof p.rtt_ms === 'number' && p.rtt_ms > 0) ? '%.1f ms'.format(p.rtt_ms) : '-';
			return [
				[ String(p.name ?? ''), E('span', { 'title': String(p.node_id ?? '') }, [ String(p.name || p.node_id || '?') ]) ],
				text(p.address),
				stateBadge(p.state),
				text(p.path === 'relay' ? _('relay') : (p.path === 'direct' ? _('direct') : (p.path || '-'))),
				text(p.endpoint),
				[ p.rtt_ms ?? 0, text(rtt) ],
				[ p.bytes_in ?? 0, text(bytes(p.bytes_in)) ],
				[ p.bytes_out ?? 0, text(bytes(p.bytes_out)) ],
				[ since ?? -1, text(duration(since)) ],
				E('button', {
					'class': 'cbi-button cbi-button-remove',
					'title': _('Revoke this router\'s membership (group owner only)'),
					'click': ui.createHandlerFn(this, 'handleRevoke', p)
				}, [ _('Revoke') ])
			];
		}));
	},

	handleRevoke(peer) {
		const who = String(peer.name || peer.node_id || '');
		if (!confirm(_('Revoke %s? It loses every link to the group at once and cannot rejoin without a new invite.').format(who)))
			return Promise.resolve();
		return callRevoke(String(peer.node_id || peer.name)).then(res => {
			if (typeof res === 'number' || (res && res.error))
				ui.addNotification(null, E('p', [ _('Could not revoke %s: %s').format(who,
					typeof res === 'number' ? rpc.getStatusText(res) : res.error) ]), 'danger');
			else
				ui.addTimeLimitedNotification(null, E('p', [ _('%s has been revoked.').format(who) ]), 5000, 'info');
		}).catch(e => ui.addNotification(null, E('p', [ _('Could not revoke %s: %s').format(who, e.message) ]), 'danger'));
	},

	handleSave: null,
	handleSaveApply: null,
	handleReset: null
});

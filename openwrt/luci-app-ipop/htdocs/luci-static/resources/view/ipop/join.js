'use strict';
'require view';
'require rpc';
'require ui';

// Join page: paste an invite token (ubus ipop join) or leave the group
// (ubus ipop leave). Whatever the daemon says went wrong is shown as it
// said it: an expired or used token, a bootstrap node that cannot be
// reached, a CA fingerprint that does not match, ...

const callStatus = rpc.declare({ object: 'ipop', method: 'status', expect: { '': {} } });
const callJoin = rpc.declare({ object: 'ipop', method: 'join', params: [ 'token' ] });
const callLeave = rpc.declare({ object: 'ipop', method: 'leave' });

// failure turns a reply into an error text, or null on success. The daemon
// replies {error: "..."} (with a non-zero status) on failure; without a text
// only the ubus status code is known.
function failure(res) {
	if (typeof res === 'number')
		return res === 0 ? null : _('ubus status %d: %s').format(res, rpc.getStatusText(res));
	if (res && typeof res.error === 'string' && res.error !== '')
		return res.error;
	return null;
}

// joinedText says which group this router joined and under which name:
// the owner decides it (the name in the invite, else this router's host
// name, with a suffix such as -2 when another router has it).
function joinedText(res) {
	if (!res || !res.group)
		return _('Joined the group.');
	if (!res.name)
		return _('Joined the group "%s".').format(res.group);
	let text = _('Joined the group "%s" as "%s", address %s.').format(res.group, res.name, res.address || '-');
	if (res.proposed && res.proposed !== res.name)
		text += ' ' + _('The group owner named this router "%s" (it proposed "%s").').format(res.name, res.proposed);
	return text;
}

return view.extend({
	// Exposed for tests; not used by LuCI.
	joinedText: joinedText,

	load() {
		return callStatus().catch(e => ({ error: e.message }));
	},

	render(st) {
		st = (st && typeof st === 'object') ? st : {};
		this.token = E('textarea', {
			'id': 'ipop-join-token', 'class': 'cbi-input-textarea', 'rows': 5,
			'style': 'width:100%;font-family:monospace', 'spellcheck': 'false',
			'placeholder': _('Paste the invite token here')
		});
		this.message = E('div', { 'id': 'ipop-join-message' });

		const member = E('div', { 'class': 'cbi-section' }, [
			E('h3', [ _('Membership') ]),
			E('p', {}, st.group
				? [ _('This router is a member of the group "%s" as "%s", address %s.').format(st.group, st.name ?? '', st.address || '-') ]
				: [ st.error ? _('ipopd is not answering: %s').format(st.error) : _('This router is not a member of a group.') ]),
			st.group ? E('button', {
				'class': 'cbi-button cbi-button-negative', 'id': 'ipop-leave',
				'click': ui.createHandlerFn(this, 'handleLeave', st.group)
			}, [ _('Leave group') ]) : ''
		]);

		return E('div', { 'class': 'cbi-map' }, [
			E('h2', [ _('Join a group') ]),
			E('div', { 'class': 'cbi-map-descr' }, [
				_('Ask the owner of the group for an invite token (Invite page of a member router, or "ipopd invite"), paste it below and press Join. This router gets its certificate and its address in the group; its keys never leave it.')
			]),
			member,
			E('div', { 'class': 'cbi-section' }, [
				this.token,
				E('div', { 'class': 'cbi-page-actions' }, [
					E('button', {
						'class': 'cbi-button cbi-button-apply', 'id': 'ipop-join',
						'click': ui.createHandlerFn(this, 'handleJoin')
					}, [ _('Join') ])
				]),
				this.message
			])
		]);
	},

	showMessage(kind, msg) {
		this.message.replaceChildren(E('div', { 'class': 'alert-message ' + kind }, [ E('p', {}, [ msg ]) ]));
	},

	handleJoin() {
		// Tokens are one line; whitespace from copying out of mails or chats is dropped.
		const token = this.token.value.replace(/\s+/g, '');
		if (token === '') {
			this.showMessage('warning', _('Paste an invite token first.'));
			return Promise.resolve();
		}
		this.showMessage('info', _('Joining… this takes a few seconds while the bootstrap node is contacted.'));
		return callJoin(token).then(res => {
			const err = failure(res);
			if (err !== null) {
				this.showMessage('danger', _('Join failed: %s').format(err));
				return;
			}
			this.token.value = '';
			this.showMessage('success', joinedText(res));
			window.setTimeout(() => location.reload(), 2000);
		}).catch(e => this.showMessage('danger', _('Join failed: %s').format(e.message)));
	},

	handleLeave(group) {
		if (!confirm(_('Leave the group "%s"? This router loses its links and its certificate; it needs a new invite to come back.').format(group)))
			return Promise.resolve();
		return callLeave().then(res => {
			const err = failure(res);
			if (err !== null) {
				this.showMessage('danger', _('Leaving failed: %s').format(err));
				return;
			}
			location.reload();
		}).catch(e => this.showMessage('danger', _('Leaving failed: %s').format(e.message)));
	},

	handleSave: null,
	handleSaveApply: null,
	handleReset: null
});

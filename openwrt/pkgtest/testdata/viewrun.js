// Runs a LuCI view of the app against stand-ins for LuCI (E, ui, rpc) and
// prints what a user would see, as JSON, for the Go tests in luci_test.go.
// Usage:
//   node viewrun.js invite INVITE_JS STATUS_JSON ENDPOINTS_TEXT NAME
//     renders the Invite page with the status answer, types ENDPOINTS_TEXT
//     and NAME, presses Create invite; prints {prefill, calls, notes, shown}
//   node viewrun.js join JOIN_JS REPLY_JSON
//     prints {text}: what the Join page says after that join reply
'use strict';
const fs = require('fs');

String.prototype.format = function (...args) {
	let i = 0;
	return this.replace(/%[sdh]/g, () => String(args[i++]));
};

// A small DOM: E(tag, [attrs], [children]) as LuCI's E does.
function E(tag, attrs, children) {
	if (Array.isArray(attrs) || typeof attrs === 'string') {
		children = attrs;
		attrs = {};
	}
	attrs = attrs || {};
	const node = {
		tag, attrs, id: attrs.id, value: attrs.value !== undefined ? String(attrs.value) : '',
		children: [].concat(children ?? []),
		replaceChildren(...c) { this.children = c; },
		appendChild(c) { this.children.push(c); },
		setAttribute(k, v) { this.attrs[k] = v; },
		select() {}
	};
	return node;
}
function find(node, id) {
	if (!node || typeof node !== 'object')
		return null;
	if (node.id === id)
		return node;
	for (const c of node.children || []) {
		const f = find(c, id);
		if (f)
			return f;
	}
	return null;
}
function text(node) {
	if (node === null || node === undefined)
		return '';
	if (typeof node !== 'object')
		return String(node);
	return (node.children || []).map(text).join('');
}
globalThis.document = { createElementNS: (ns, tag) => E(tag, {}, []), execCommand() {} };
globalThis.window = { setTimeout() {}, isSecureContext: false };
globalThis.navigator = {};
globalThis.location = { reload() {} };

const calls = [], notes = [];
let replies = {};
const rpc = {
	declare: (spec) => (...a) => {
		const args = {};
		(spec.params || []).forEach((p, i) => { args[p] = a[i]; });
		calls.push({ method: spec.method, args });
		const r = replies[spec.method];
		return Promise.resolve(typeof r === 'function' ? r(args) : (r ?? {}));
	},
	getStatusText: String
};
const ui = {
	createHandlerFn: (ctx, fn, ...args) => () => (typeof fn === 'function' ? fn : ctx[fn]).apply(ctx, args),
	addNotification: (title, content) => { notes.push(text(content)); },
	addTimeLimitedNotification: (title, content) => { notes.push(text(content)); }
};
const view = { extend: (o) => o };

function load(file) {
	const src = fs.readFileSync(file, 'utf8');
	return new Function('view', 'rpc', 'ui', 'E', '_', src)(view, rpc, ui, E, (s) => s);
}

async function main() {
	const [ mode, file ] = process.argv.slice(2, 4);
	if (mode === 'invite') {
		const [ status, eps, name ] = process.argv.slice(4);
		const mod = load(file);
		replies = { invite: (args) => ({ token: 'ipop1token', id: '00', endpoints: args.endpoints.length ? args.endpoints : [ '198.51.100.9:6464' ], name: args.name }) };
		const page = mod.render(JSON.parse(status));
		const field = find(page, 'ipop-invite-endpoints');
		const prefill = field ? field.value : null;
		if (field)
			field.value = eps;
		find(page, 'ipop-invite-name').value = name;
		find(page, 'ipop-invite-ttl').value = '86400'; // a select's value is its selected option's
		await find(page, 'ipop-invite-create').attrs.click();
		console.log(JSON.stringify({ prefill, calls, notes, shown: text(find(mod.result, 'ipop-invite-about')) }));
	} else if (mode === 'join') {
		const mod = load(file);
		console.log(JSON.stringify({ text: mod.joinedText(JSON.parse(process.argv[4])) }));
	} else {
		throw new Error('unknown mode ' + mode);
	}
}
main().catch(e => { console.error(e && e.stack || e); process.exit(1); });

'use strict';
'require view';
'require rpc';
'require ui';

// Invite page: the group owner makes a single-use, expiring invite token
// (ubus ipop invite) and hands it over as text or as a QR code. The QR code
// is computed here in the browser; nothing is fetched from the network.

const callStatus = rpc.declare({ object: 'ipop', method: 'status', expect: { '': {} } });
const callInvite = rpc.declare({ object: 'ipop', method: 'invite', params: [ 'ttl', 'uses', 'name', 'endpoints' ] });

const TTL_CHOICES = [
	[ 3600, _('1 hour') ],
	[ 86400, _('1 day') ],
	[ 604800, _('7 days') ]
];

// ---- QR code encoder (ISO/IEC 18004, byte mode, error correction level M) ----
//
// encodeQR(text) returns { size, version, mask, modules } where modules[y][x]
// is true for a dark module. Steps: UTF-8 bytes -> bit stream with mode and
// length -> padded data codewords -> split into blocks, Reed-Solomon ECC per
// block, interleaved -> placed in the zigzag around the function patterns ->
// the mask with the lowest penalty -> format and version information.

// Per version 1..40 (index 0 unused), level M: ECC codewords per block and
// number of blocks.
const QR_ECC_PER_BLOCK = [ 0,
	10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26,
	26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28 ];
const QR_BLOCKS = [ 0,
	1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16,
	17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49 ];
const QR_FORMAT_LEVEL_M = 0; // the two error-correction bits of level M

// Number of modules that carry data or ECC (everything but function patterns).
function qrRawModules(ver) {
	let n = (16 * ver + 128) * ver + 64;
	if (ver >= 2) {
		const align = Math.floor(ver / 7) + 2;
		n -= (25 * align - 10) * align - 55;
		if (ver >= 7)
			n -= 36;
	}
	return n;
}

function qrDataCodewords(ver) {
	return Math.floor(qrRawModules(ver) / 8) - QR_ECC_PER_BLOCK[ver] * QR_BLOCKS[ver];
}

// Multiplication in GF(2^8) modulo x^8 + x^4 + x^3 + x^2 + 1.
function gfMul(x, y) {
	let z = 0;
	for (let i = 7; i >= 0; i--) {
		z = (z << 1) ^ ((z >>> 7) * 0x11d);
		z ^= ((y >>> i) & 1) * x;
	}
	return z & 0xff;
}

// Coefficients (highest first, leading 1 omitted) of prod (x - 2^i), i < degree.
function rsGenerator(degree) {
	const g = new Array(degree).fill(0);
	g[degree - 1] = 1;
	let root = 1;
	for (let i = 0; i < degree; i++) {
		for (let j = 0; j < degree; j++) {
			g[j] = gfMul(g[j], root);
			if (j + 1 < degree)
				g[j] ^= g[j + 1];
		}
		root = gfMul(root, 2);
	}
	return g;
}

function rsRemainder(data, gen) {
	const rem = new Array(gen.length).fill(0);
	for (const b of data) {
		const factor = b ^ rem.shift();
		rem.push(0);
		for (let i = 0; i < gen.length; i++)
			rem[i] ^= gfMul(gen[i], factor);
	}
	return rem;
}

function qrAlignmentPositions(ver) {
	if (ver === 1)
		return [];
	const count = Math.floor(ver / 7) + 2;
	const step = (ver === 32) ? 26 : Math.ceil((ver * 4 + 4) / (count * 2 - 2)) * 2;
	const pos = [];
	for (let p = ver * 4 + 10; pos.length < count - 1; p -= step)
		pos.unshift(p);
	pos.unshift(6);
	return pos;
}

function utf8Bytes(text) {
	if (typeof TextEncoder !== 'undefined')
		return Array.from(new TextEncoder().encode(text));
	return Array.from(unescape(encodeURIComponent(text)), c => c.charCodeAt(0));
}

// Data codewords for bytes in the smallest version that holds them.
function qrCodewords(bytes) {
	for (let ver = 1; ver <= 40; ver++) {
		const countBits = ver < 10 ? 8 : 16;
		const capacity = qrDataCodewords(ver) * 8;
		if (4 + countBits + bytes.length * 8 > capacity)
			continue;
		const bits = [];
		const put = (val, len) => { for (let i = len - 1; i >= 0; i--) bits.push((val >>> i) & 1); };
		put(4, 4);                    // byte mode
		put(bytes.length, countBits);
		bytes.forEach(b => put(b, 8));
		put(0, Math.min(4, capacity - bits.length)); // terminator
		put(0, (8 - bits.length % 8) % 8);
		const words = [];
		for (let i = 0; i < bits.length; i += 8)
			words.push(bits.slice(i, i + 8).reduce((a, b) => (a << 1) | b, 0));
		for (let pad = 0xec; words.length < capacity / 8; pad ^= 0xec ^ 0x11)
			words.push(pad);
		return { ver, words };
	}
	throw new Error(_('Text too long for a QR code (%d bytes)').format(bytes.length));
}

// Splits data into blocks, appends ECC to each and interleaves them.
function qrInterleave(ver, data) {
	const nblocks = QR_BLOCKS[ver], ecc = QR_ECC_PER_BLOCK[ver];
	const raw = Math.floor(qrRawModules(ver) / 8);
	const shortBlocks = nblocks - raw % nblocks;
	const shortLen = Math.floor(raw / nblocks);
	const gen = rsGenerator(ecc);
	const blocks = [];
	for (let i = 0, k = 0; i < nblocks; i++) {
		const dat = data.slice(k, k + shortLen - ecc + (i < shortBlocks ? 0 : 1));
		k += dat.length;
		const block = dat.concat(rsRemainder(dat, gen));
		if (i < shortBlocks)
			block.splice(dat.length, 0, null); // short blocks skip this column
		blocks.push(block);
	}
	const out = [];
	for (let i = 0; i < blocks[0].length; i++)
		for (const b of blocks)
			if (b[i] !== null)
				out.push(b[i]);
	return out;
}

const QR_MASKS = [
	(x, y) => (x + y) % 2 === 0,
	(x, y) => y % 2 === 0,
	(x, y) => x % 3 === 0,
	(x, y) => (x + y) % 3 === 0,
	(x, y) => (Math.floor(x / 3) + Math.floor(y / 2)) % 2 === 0,
	(x, y) => x * y % 2 + x * y % 3 === 0,
	(x, y) => (x * y % 2 + x * y % 3) % 2 === 0,
	(x, y) => ((x + y) % 2 + x * y % 3) % 2 === 0
];

function qrPenalty(m) {
	const n = m.length;
	let score = 0, dark = 0;
	const line = (get) => {
		// runs of 5+ equal modules, and finder-like 1:1:3:1:1 patterns
		let run = 0, prev = null;
		const seq = [];
		for (let i = 0; i < n; i++) {
			const v = get(i);
			seq.push(v ? 1 : 0);
			if (v === prev) {
				run++;
			} else {
				if (run >= 5)
					score += run - 2;
				run = 1;
				prev = v;
			}
		}
		if (run >= 5)
			score += run - 2;
		const s = seq.join('');
		for (const pat of [ '10111010000', '00001011101' ])
			for (let i = s.indexOf(pat); i >= 0; i = s.indexOf(pat, i + 1))
				score += 40;
	};
	for (let y = 0; y < n; y++) {
		line(x => m[y][x]);
		line(x => m[x][y]);
		for (let x = 0; x < n; x++) {
			if (m[y][x])
				dark++;
			if (x + 1 < n && y + 1 < n && m[y][x] === m[y][x + 1] &&
			    m[y][x] === m[y + 1][x] && m[y][x] === m[y + 1][x + 1])
				score += 3;
		}
	}
	score += (Math.ceil(Math.abs(dark * 20 - n * n * 10) / (n * n)) - 1) * 10;
	return score;
}

function encodeQR(text) {
	const { ver, words } = qrCodewords(utf8Bytes(String(text)));
	const code = qrInterleave(ver, words);
	const size = ver * 4 + 17;
	const grid = () => Array.from({ length: size }, () => new Array(size).fill(false));
	const base = grid(), fixed = grid();
	const set = (x, y, dark) => { base[y][x] = dark; fixed[y][x] = true; };

	for (let i = 0; i < size; i++) {                 // timing patterns
		set(6, i, i % 2 === 0);
		set(i, 6, i % 2 === 0);
	}
	for (const [ cx, cy ] of [ [ 3, 3 ], [ size - 4, 3 ], [ 3, size - 4 ] ])   // finders + separators
		for (let dy = -4; dy <= 4; dy++)
			for (let dx = -4; dx <= 4; dx++) {
				const x = cx + dx, y = cy + dy, d = Math.max(Math.abs(dx), Math.abs(dy));
				if (x >= 0 && x < size && y >= 0 && y < size)
					set(x, y, d !== 2 && d !== 4);
			}
	const align = qrAlignmentPositions(ver), last = align.length - 1;
	align.forEach((ay, i) => align.forEach((ax, j) => {
		if ((i === 0 && j === 0) || (i === 0 && j === last) || (i === last && j === 0))
			return;                                  // those overlap the finders
		for (let dy = -2; dy <= 2; dy++)
			for (let dx = -2; dx <= 2; dx++)
				set(ax + dx, ay + dy, Math.max(Math.abs(dx), Math.abs(dy)) !== 1);
	}));
	const drawFormat = (mask) => {
		const data = (QR_FORMAT_LEVEL_M << 3) | mask;
		let rem = data;
		for (let i = 0; i < 10; i++)
			rem = (rem << 1) ^ ((rem >>> 9) * 0x537);
		const bits = ((data << 10) | rem) ^ 0x5412;
		const bit = i => ((bits >>> i) & 1) === 1;
		for (let i = 0; i <= 5; i++)
			set(8, i, bit(i));
		set(8, 7, bit(6));
		set(8, 8, bit(7));
		set(7, 8, bit(8));
		for (let i = 9; i < 15; i++)
			set(14 - i, 8, bit(i));
		for (let i = 0; i < 8; i++)
			set(size - 1 - i, 8, bit(i));
		for (let i = 8; i < 15; i++)
			set(8, size - 15 + i, bit(i));
		set(8, size - 8, true);                      // the dark module
	};
	drawFormat(0);                                   // reserve the format areas
	if (ver >= 7) {
		let rem = ver;
		for (let i = 0; i < 12; i++)
			rem = (rem << 1) ^ ((rem >>> 11) * 0x1f25);
		const bits = (ver << 12) | rem;
		for (let i = 0; i < 18; i++) {
			const dark = ((bits >>> i) & 1) === 1;
			const a = size - 11 + i % 3, b = Math.floor(i / 3);
			set(a, b, dark);
			set(b, a, dark);
		}
	}
	let bitIndex = 0;                                // zigzag data placement
	for (let right = size - 1; right >= 1; right -= 2) {
		if (right === 6)
			right = 5;
		for (let vert = 0; vert < size; vert++)
			for (let j = 0; j < 2; j++) {
				const x = right - j;
				const y = ((right + 1) & 2) === 0 ? size - 1 - vert : vert;
				if (!fixed[y][x] && bitIndex < code.length * 8) {
					base[y][x] = ((code[bitIndex >>> 3] >>> (7 - (bitIndex & 7))) & 1) === 1;
					bitIndex++;
				}
			}
	}
	let best = null;
	for (let mask = 0; mask < 8; mask++) {
		drawFormat(mask);
		const m = base.map((row, y) => row.map((v, x) => fixed[y][x] ? v : v !== QR_MASKS[mask](x, y)));
		const score = qrPenalty(m);
		if (best === null || score < best.score)
			best = { score, mask, modules: m };
	}
	return { size, version: ver, mask: best.mask, modules: best.modules };
}

// An SVG of the QR code with a 4-module quiet zone, scale pixels per module.
function renderQR(text, scale) {
	const qr = encodeQR(text);
	const ns = 'http://www.w3.org/2000/svg';
	const full = qr.size + 8;
	const svg = document.createElementNS(ns, 'svg');
	svg.setAttribute('viewBox', '0 0 %d %d'.format(full, full));
	svg.setAttribute('width', String(full * scale));
	svg.setAttribute('height', String(full * scale));
	svg.setAttribute('shape-rendering', 'crispEdges');
	svg.setAttribute('id', 'ipop-invite-qr');
	const bg = document.createElementNS(ns, 'rect');
	bg.setAttribute('width', String(full));
	bg.setAttribute('height', String(full));
	bg.setAttribute('fill', '#fff');
	svg.appendChild(bg);
	let d = '';
	qr.modules.forEach((row, y) => row.forEach((dark, x) => {
		if (dark)
			d += 'M%d %dh1v1h-1z'.format(x + 4, y + 4);
	}));
	const path = document.createElementNS(ns, 'path');
	path.setAttribute('d', d);
	path.setAttribute('fill', '#000');
	svg.appendChild(path);
	return svg;
}

// ---- the page ----

// Endpoints as typed: HOST:PORT, several separated by commas or spaces.
// HOST is an IPv4 address, an IPv6 address in brackets or a DNS name (a
// router behind dynamic DNS). The daemon checks them again.
const DNS_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

function endpointError(ep) {
	const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\[\]:]+)):([0-9]+)$/.exec(ep);
	if (!m)
		return _('"%s" is not HOST:PORT, such as 203.0.113.7:6464, home.example.net:6464 or [2001:db8::1]:6464').format(ep);
	const port = m[3];
	if (!/^[1-9][0-9]{0,4}$/.test(port) || +port > 65535)
		return _('"%s": the port must be a number from 1 to 65535').format(ep);
	if (m[1] !== undefined)
		return null;
	const host = m[2].replace(/\.$/, '');
	if (host.length > 253 || !host.split('.').every(l => DNS_LABEL.test(l)))
		return _('"%s": %s is not an IPv4 address or a DNS name').format(ep, m[2]);
	return null;
}

// parseEndpoints returns { endpoints } or { error }.
function parseEndpoints(text) {
	const out = [];
	for (const ep of String(text).split(/[\s,]+/).filter(e => e !== '')) {
		const err = endpointError(ep);
		if (err !== null)
			return { error: err };
		if (!out.includes(ep))
			out.push(ep);
	}
	if (out.length > 16)
		return { error: _('At most 16 endpoints fit in a token.') };
	return { endpoints: out };
}

function errorText(res) {
	if (typeof res === 'number')
		return _('the daemon answered with ubus status %d (%s)').format(res, rpc.getStatusText(res));
	if (res && typeof res.error === 'string' && res.error !== '')
		return res.error;
	return null;
}

return view.extend({
	// Exposed for tests of the encoder and the endpoint parser; not used by LuCI.
	encodeQR: encodeQR,
	parseEndpoints: parseEndpoints,

	load() {
		return callStatus().catch(() => ({}));
	},

	render(st) {
		const joined = st && st.group;
		const ttl = E('select', { 'id': 'ipop-invite-ttl', 'class': 'cbi-input-select' },
			TTL_CHOICES.map(([ secs, label ]) => E('option', { 'value': secs, 'selected': secs === 86400 ? '' : null }, [ label ])));
		const uses = E('input', { 'id': 'ipop-invite-uses', 'class': 'cbi-input-text', 'type': 'number',
			'min': 1, 'max': 100, 'value': 1 });
		const name = E('input', { 'id': 'ipop-invite-name', 'class': 'cbi-input-text', 'type': 'text',
			'maxlength': 63, 'placeholder': _('e.g. cabin-router') });
		// The best guess of where the new router reaches this one: the
		// address a lighthouse saw it at (behind NAT, its public address),
		// else its WAN address. Empty: the daemon puts in its own guess.
		const guess = (st && (st.public_endpoint || st.wan_endpoint)) || '';
		const endpoints = E('input', { 'id': 'ipop-invite-endpoints', 'class': 'cbi-input-text', 'type': 'text',
			'value': guess, 'placeholder': _('e.g. home.example.net:6464') });
		this.result = E('div', { 'id': 'ipop-invite-result' });

		const row = (label, field, help) => E('div', { 'class': 'cbi-value' }, [
			E('label', { 'class': 'cbi-value-title' }, [ label ]),
			E('div', { 'class': 'cbi-value-field' }, [ field, help ? E('div', { 'class': 'cbi-value-description' }, [ help ]) : '' ])
		]);

		return E('div', { 'class': 'cbi-map' }, [
			E('h2', [ _('Invite a router') ]),
			E('div', { 'class': 'cbi-map-descr' }, [
				_('Make a token for another router. Its owner pastes the token on the Join page of that router. A token works only until it expires and only as often as allowed; it contains a secret, so pass it on privately.')
			]),
			joined ? '' : E('div', { 'class': 'alert-message warning' }, [
				_('This router is not a member of a group yet; only a member that holds the group key can invite.')
			]),
			E('div', { 'class': 'cbi-section' }, [
				row(_('Valid for'), ttl),
				row(_('Uses'), uses, _('How many routers may join with this token.')),
				row(_('Name'), name, _('Optional name for the new router; without one it takes its host name (with a suffix such as -2 if that is taken).')),
				row(_('Endpoint'), endpoints, st && st.public_endpoint
					? _('Where the new router reaches this one: HOST:PORT, a DNS name allowed, several separated by commas. Filled in with the address a lighthouse sees this router at.')
					: _('Where the new router reaches this one: HOST:PORT, a DNS name allowed, several separated by commas. Behind NAT, give the public address or DNS name and a forwarded port.')),
				E('div', { 'class': 'cbi-page-actions' }, [
					E('button', { 'class': 'cbi-button cbi-button-action', 'id': 'ipop-invite-create',
						'click': ui.createHandlerFn(this, 'handleCreate', ttl, uses, name, endpoints) }, [ _('Create invite') ])
				]),
				this.result
			])
		]);
	},

	handleCreate(ttl, uses, name, endpoints) {
		const n = parseInt(uses.value, 10);
		if (!(n >= 1 && n <= 100)) {
			ui.addNotification(null, E('p', [ _('Uses must be a number from 1 to 100.') ]), 'danger');
			return Promise.resolve();
		}
		const nodeName = name.value.trim();
		if (nodeName !== '' && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(nodeName)) {
			ui.addNotification(null, E('p', [ _('The name may hold letters, digits, dots, dashes and underscores.') ]), 'danger');
			return Promise.resolve();
		}
		const eps = parseEndpoints(endpoints ? endpoints.value : '');
		if (eps.error) {
			ui.addNotification(null, E('p', [ _('Endpoint: %s').format(eps.error) ]), 'danger');
			return Promise.resolve();
		}
		return callInvite(parseInt(ttl.value, 10), n, nodeName, eps.endpoints).then(res => {
			const err = errorText(res);
			if (err !== null || !res || typeof res.token !== 'string' || res.token === '') {
				ui.addNotification(null, E('p', [ _('Could not create the invite: %s').format(err ?? _('no token in the answer')) ]), 'danger');
				return;
			}
			this.showToken(res.token, Array.isArray(res.endpoints) ? res.endpoints : [], res.name || nodeName);
		}).catch(e => {
			ui.addNotification(null, E('p', [ _('Could not create the invite: %s').format(e.message) ]), 'danger');
		});
	},

	showToken(token, endpoints, name) {
		const text = E('textarea', { 'id': 'ipop-invite-token', 'class': 'cbi-input-textarea', 'readonly': '',
			'rows': 4, 'style': 'width:100%;font-family:monospace;word-break:break-all' }, [ token ]);
		let qr;
		try {
			qr = renderQR(token, 4);
		} catch (e) {
			qr = E('em', [ e.message ]);
		}
		const copy = E('button', { 'class': 'cbi-button', 'id': 'ipop-invite-copy', 'click': () => {
			const done = () => ui.addTimeLimitedNotification(null, E('p', [ _('Token copied.') ]), 3000, 'info');
			if (navigator.clipboard && window.isSecureContext)
				return navigator.clipboard.writeText(token).then(done, () => { text.select(); document.execCommand('copy'); done(); });
			// plain http: the Clipboard API is not available
			text.select();
			document.execCommand('copy');
			done();
		} }, [ _('Copy') ]);
		const about = E('div', { 'id': 'ipop-invite-about', 'class': 'cbi-value-description' }, [
			E('div', { 'id': 'ipop-invite-carries' }, [ endpoints && endpoints.length
				? _('The new router reaches this one at: %s').format(endpoints.join(', '))
				: _('The token names no endpoint.') ]),
			name ? E('div', { 'id': 'ipop-invite-for' }, [ _('The new router will be called "%s".').format(name) ]) : ''
		]);
		this.result.replaceChildren(
			E('h3', [ _('Invite token') ]),
			text,
			about,
			E('div', {}, [ copy ]),
			E('div', { 'style': 'margin-top:1em' }, [ qr ])
		);
	},

	handleSave: null,
	handleSaveApply: null,
	handleReset: null
});

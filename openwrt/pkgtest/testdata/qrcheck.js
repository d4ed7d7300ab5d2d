// Encodes each argument with the QR encoder of view/ipop/invite.js and, when
// the jsqr decoder can be required (NODE_PATH), decodes the picture again.
// Prints one JSON line per argument: {text, version, size, decoded|null}.
// Usage: node qrcheck.js INVITE_JS TEXT...
'use strict';
const fs = require('fs');

String.prototype.format = function (...args) {
	let i = 0;
	return this.replace(/%[sdh]/g, () => String(args[i++]));
};
const stub = {
	view: { extend: (o) => o },
	rpc: { declare: () => () => Promise.resolve({}), getStatusText: String },
	ui: {},
	E: () => ({}),
	_: (s) => s
};
const src = fs.readFileSync(process.argv[2], 'utf8');
const mod = new Function('view', 'rpc', 'ui', 'E', '_', src)(stub.view, stub.rpc, stub.ui, stub.E, stub._);

let jsQR = null;
try {
	jsQR = require('jsqr');
} catch (e) {
	jsQR = null;
}

for (const text of process.argv.slice(3)) {
	const qr = mod.encodeQR(text);
	let decoded = null;
	if (jsQR) {
		const scale = 4, quiet = 4, full = (qr.size + 2 * quiet) * scale;
		const px = new Uint8ClampedArray(full * full * 4).fill(255);
		qr.modules.forEach((row, y) => row.forEach((dark, x) => {
			if (!dark)
				return;
			for (let dy = 0; dy < scale; dy++)
				for (let dx = 0; dx < scale; dx++) {
					const o = (((y + quiet) * scale + dy) * full + (x + quiet) * scale + dx) * 4;
					px[o] = px[o + 1] = px[o + 2] = 0;
				}
		}));
		const res = jsQR(px, full, full, { inversionAttempts: 'dontInvert' });
		decoded = res ? res.data : '';
	}
	console.log(JSON.stringify({ text, version: qr.version, size: qr.size, decoded }));
}

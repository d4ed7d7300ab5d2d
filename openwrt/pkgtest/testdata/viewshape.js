// Evaluates a LuCI view module the way LuCI's class loader does (the body
// of a function whose parameters are the 'require'd classes) with stand-in
// classes, and prints JSON: the required classes, the rpc.declare specs made
// while the module loads, and the type of each member of the object given
// to view.extend (null when the module does not return view.extend(...)).
// Usage: node viewshape.js FILE
'use strict';
const fs = require('fs');

const src = fs.readFileSync(process.argv[2], 'utf8');
const requires = [];
for (const m of src.matchAll(/^[ \t]*'require[ \t]+([^\s']+)(?:[ \t]+as[ \t]+([A-Za-z_$][\w$]*))?'[ \t]*;/gm))
	requires.push({ name: m[1], as: m[2] || m[1].replace(/[^A-Za-z0-9_]/g, '_') });

const declares = [];
const anything = () => new Proxy(function () {}, {
	get: (target, prop) => prop === Symbol.toPrimitive ? () => '' : anything(),
	apply: () => anything(),
	construct: () => anything()
});
const extended = [];
const classes = {
	view: { extend: (o) => { extended.push(o); return o; } },
	rpc: { declare: (spec) => { declares.push(spec); return () => Promise.resolve({}); }, getStatusText: String }
};
String.prototype.format = function () { return String(this); };
const args = requires.map(r => classes[r.name] || anything());
const names = requires.map(r => r.as);
let result;
try {
	result = new Function(...names, 'E', '_', 'L', src)(...args, anything(), (s) => s, anything());
} catch (e) {
	console.log(JSON.stringify({ error: String(e && e.stack || e) }));
	process.exit(0);
}
let members = null;
if (extended.length === 1 && result === extended[0]) {
	members = {};
	for (const [ k, v ] of Object.entries(result))
		members[k] = v === null ? 'null' : typeof v;
}
console.log(JSON.stringify({ requires: requires.map(r => r.name), declares, members }));

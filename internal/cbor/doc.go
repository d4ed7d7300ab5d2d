// Package cbor encodes and decodes the CBOR (RFC 8949) of ipopd's control
// messages and invite tokens, in the standard library only.
//
// It replaces a general CBOR library that cost the router binary about
// 200 KB; it does exactly what the wire and group packages need and no
// more.
//
// Encoding is "core deterministic" (RFC 8949 section 4.2.1): integers and
// lengths in their shortest form, definite lengths only, and map keys
// sorted by their encoded bytes. The Go values it takes:
//
//   - bool, signed and unsigned integers of every width, string (UTF-8);
//   - []byte and byte arrays ([8]byte, [32]byte...) as byte strings;
//   - other slices and arrays as arrays;
//   - structs as maps: every exported field carries a tag
//     `cbor:"N,keyasint"` or `cbor:"N,keyasint,omitempty"` and is keyed by
//     the unsigned integer N; omitempty leaves out false, 0, "", and empty
//     or nil slices;
//   - structs with a field named _ tagged cbor:",toarray" as arrays of
//     their exported fields in order;
//   - pointers, whose target is encoded. A nil slice or pointer is null.
//
// The byte forms are those of github.com/fxamacker/cbor/v2 in its
// CoreDetEncOptions mode, which ipopd used before: old and new peers
// exchange the same bytes.
//
// Decoding is strict: it accepts exactly the bytes Marshal writes for some
// value and nothing else, so one value has one encoding. It refuses
// indefinite lengths, tags, floats and simple values other than
// false/true/null, integers or lengths not in shortest form, map keys out
// of order or repeated, unknown keys (unless DecOptions.AllowUnknownKeys),
// missing keys that are not omitempty, omitempty keys holding an empty
// value, invalid UTF-8, trailing bytes, and anything over the limits in
// DecOptions. It never panics and never allocates more than the input
// could describe.
package cbor

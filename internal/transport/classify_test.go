package transport

import "testing"

func TestClassify(t *testing.T) {
	stun := make([]byte, 20)
	stun[0], stun[1] = 0x00, 0x01
	stun[4], stun[5], stun[6], stun[7] = 0x21, 0x12, 0xA4, 0x42
	badCookie := append([]byte(nil), stun...)
	badCookie[4] = 0
	dtls := make([]byte, 13)
	dtls[0] = 22
	data := make([]byte, headerLen+tagLen+1)
	data[0] = markerData
	tests := []struct {
		name string
		in   []byte
		want Kind
	}{
		{"empty", nil, KindUnknown},
		{"stun", stun, KindSTUN},
		{"stun bad cookie", badCookie, KindUnknown},
		{"stun short", stun[:19], KindUnknown},
		{"dtls", dtls, KindDTLS},
		{"dtls cid", append([]byte{25}, dtls[1:]...), KindDTLS},
		{"dtls short", dtls[:12], KindUnknown},
		{"turn channel", []byte{0x40, 0x00, 0x00, 0x00}, KindTURNChannel},
		{"turn short", []byte{0x40, 0x00}, KindUnknown},
		{"data", data, KindData},
		{"data short", data[:headerLen+tagLen], KindUnknown},
		{"relay", []byte{markerRelay, 1}, KindRelay},
		{"rtp range", []byte{0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, KindUnknown},
		{"zrtp range", []byte{16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, KindUnknown},
	}
	for _, tt := range tests {
		if got := Classify(tt.in); got != tt.want {
			t.Errorf("%s: Classify = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func FuzzClassify(f *testing.F) {
	f.Add([]byte{22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1})
	f.Add([]byte{0, 1, 0, 0, 0x21, 0x12, 0xA4, 0x42, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{markerData, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		k := Classify(b)
		// The minimum lengths promised by Classify must hold.
		min := map[Kind]int{KindSTUN: stunHeaderLen, KindDTLS: dtlsHeaderLen, KindTURNChannel: turnChanLen, KindData: headerLen + tagLen + 1, KindRelay: 2}
		if k != KindUnknown && len(b) < min[k] {
			t.Fatalf("Classify(%x) = %v with only %d bytes", b, k, len(b))
		}
	})
}

package cbor

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"testing"

	fx "github.com/fxamacker/cbor/v2"
)

func TestTmpFxGen(t *testing.T) {
	em, _ := fx.CoreDetEncOptions().EncMode()
	for _, tc := range goldenCases {
		b, err := em.Marshal(tc.v)
		if err != nil {
			t.Fatal(err)
		}
		mine, err := Marshal(tc.v)
		if err != nil || !bytes.Equal(mine, b) {
			t.Errorf("%s: mine %x (%v)\nfx   %x", tc.name, mine, err, b)
		}
		fmt.Printf("%q %s\n", tc.name, hex.EncodeToString(b))
	}
}

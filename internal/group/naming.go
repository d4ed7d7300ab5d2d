package group

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Node names on the owner. Routers out of the box share a host name
// ("OpenWrt", "raspberrypi"), so the name a joiner proposes is a wish, not
// a demand: the owner decides during the join. The invite's name hint
// wins (the owner chose it), then the joiner's proposal; a name already
// taken gets the shortest suffix "-N" (N = 2, 3, ...) that makes it unique
// (OpenWrt, OpenWrt-2, OpenWrt-3). Names compare without case. A name
// counts as taken when a member holds it (revoked ones too: their
// certificates are on the revocation list under that name) or when a
// usable invite reserves it as its hint, so that the router the owner
// named is not beaten to its name by another one.

// nameUse says who holds a name, for error messages.
type nameUse struct {
	member *Allocation   // the member with this name, or nil
	invite *inviteRecord // the usable invite reserving it, or nil
}

func (u nameUse) String() string {
	if u.member != nil {
		return fmt.Sprintf("member %q, %s", u.member.Name, u.member.Address)
	}
	return fmt.Sprintf("reserved by invite %s; cancel it with 'ipopd invite --cancel %s' to free the name", u.invite.ID, u.invite.ID)
}

// nameTaken reports who holds name: a member, or a usable invite other
// than the one with id except whose hint it is.
func nameTaken(name string, allocs []Allocation, recs []inviteRecord, except string, now time.Time) (nameUse, bool) {
	for i := range allocs {
		if strings.EqualFold(allocs[i].Name, name) {
			return nameUse{member: &allocs[i]}, true
		}
	}
	for i := range recs {
		r := &recs[i]
		if r.ID != except && r.NameHint != "" && strings.EqualFold(r.NameHint, name) && r.status(now) == InviteValid {
			return nameUse{invite: r}, true
		}
	}
	return nameUse{}, false
}

// uniqueName returns base if it is free, else base with the shortest
// suffix "-N" that is; base is cut so that the result stays within
// MaxNameLen. base must be a valid name; so is the result, since a valid
// name cut anywhere after its first character is still valid.
func uniqueName(base string, taken func(string) bool) string {
	if !taken(base) {
		return base
	}
	for n := 2; ; n++ {
		suffix := "-" + strconv.Itoa(n)
		b := base
		if len(b)+len(suffix) > MaxNameLen {
			b = b[:MaxNameLen-len(suffix)]
		}
		if c := b + suffix; !taken(c) {
			return c
		}
	}
}

// joinName decides the name of a joiner that proposed proposal with the
// invite rec: rec's hint if it has one, else the proposal, made unique.
func joinName(rec inviteRecord, proposal string, allocs []Allocation, recs []inviteRecord, now time.Time) string {
	base := proposal
	if rec.NameHint != "" {
		base = rec.NameHint
	}
	return uniqueName(base, func(n string) bool {
		_, taken := nameTaken(n, allocs, recs, rec.ID, now)
		return taken
	})
}

package group

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Invite limits.
const (
	DefaultInviteTTL  = 24 * time.Hour
	MaxInviteTTL      = 30 * 24 * time.Hour
	DefaultInviteUses = 1
	MaxInviteUses     = 100
	// invitePruneAfter is how long a record stays after its expiry, so
	// that a late join attempt hears "expired" or "used" rather than
	// "unknown", and the list still shows who used it.
	invitePruneAfter = 7 * 24 * time.Hour
	// maxInvites bounds the records kept, which bounds invites.json.
	maxInvites = 256
)

// InviteOptions configure CreateInvite.
type InviteOptions struct {
	TTL       time.Duration // 0: DefaultInviteTTL; at most MaxInviteTTL
	Uses      int           // 0: DefaultInviteUses; at most MaxInviteUses
	NameHint  string        // optional: the name the new router gets (must be free)
	Endpoints []string      // bootstrap endpoints for the token, at least one
	Now       time.Time     // required
}

// InviteInfo describes an invite without its secret.
type InviteInfo struct {
	ID        string // 16 hex digits
	NameHint  string
	Created   time.Time
	Expires   time.Time
	Uses      int      // how many joins it allows in all
	UsesLeft  int      // 0 once used up, expired or cancelled
	UsedBy    []string // node names that joined with it
	Status    string   // "valid", "used", "expired" or "cancelled"
	Cancelled bool
}

// Invite statuses.
const (
	InviteValid     = "valid"
	InviteUsed      = "used"
	InviteExpired   = "expired"
	InviteCancelled = "cancelled"
)

// inviteRecord is one invite in invites.json.
type inviteRecord struct {
	ID        string       `json:"id"`
	Secret    string       `json:"secret"`
	NameHint  string       `json:"name_hint,omitempty"`
	Created   time.Time    `json:"created"`
	Expires   time.Time    `json:"expires"`
	Uses      int          `json:"uses"`
	Cancelled bool         `json:"cancelled,omitempty"`
	Joins     []inviteJoin `json:"joins,omitempty"`
}

// inviteJoin records one join, with the certificate handed out, so that a
// joiner that lost the reply gets the same answer when it asks again.
type inviteJoin struct {
	Name   string    `json:"name"`
	NodeID string    `json:"node_id"`
	At     time.Time `json:"at"`
	Cert   []byte    `json:"cert"` // DER
}

type invitesFile struct {
	Invites []inviteRecord `json:"invites"`
}

func (r *inviteRecord) usesLeft() int { return max(r.Uses-len(r.Joins), 0) }

func (r *inviteRecord) status(now time.Time) string {
	switch {
	case r.Cancelled:
		return InviteCancelled
	case r.usesLeft() == 0:
		return InviteUsed
	case now.After(r.Expires):
		return InviteExpired
	}
	return InviteValid
}

func (r *inviteRecord) info(now time.Time) InviteInfo {
	in := InviteInfo{
		ID: r.ID, NameHint: r.NameHint, Created: r.Created, Expires: r.Expires,
		Uses: r.Uses, Status: r.status(now), Cancelled: r.Cancelled,
	}
	if in.Status == InviteValid {
		in.UsesLeft = r.usesLeft()
	}
	for _, j := range r.Joins {
		in.UsedBy = append(in.UsedBy, j.Name)
	}
	return in
}

// readInvites reads invites.json; a missing file is no invites. The
// caller holds the directory lock.
func readInvites(dir string) ([]inviteRecord, error) {
	path := filepath.Join(dir, FileInvites)
	data, err := readFileLimited(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, errorf(ErrCorrupt, "group: %w", err)
	}
	recs, err := parseInvites(data)
	if err != nil {
		return nil, fmt.Errorf("group: %s: %w", path, err)
	}
	return recs, nil
}

func parseInvites(data []byte) ([]inviteRecord, error) {
	var f invitesFile
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&f); err != nil {
		return nil, errorf(ErrCorrupt, "not valid JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errorf(ErrCorrupt, "unexpected data after the JSON object")
	}
	ids := make(map[string]bool, len(f.Invites))
	for i, r := range f.Invites {
		if id, err := hex.DecodeString(r.ID); err != nil || len(id) != 8 || hex.EncodeToString(id) != r.ID {
			return nil, errorf(ErrCorrupt, "invite %d: id %q is not 16 lowercase hex digits", i+1, shorten(r.ID))
		}
		if ids[r.ID] {
			return nil, errorf(ErrCorrupt, "invite %d: id %s appears twice", i+1, r.ID)
		}
		ids[r.ID] = true
		// Never quote the secret: it is a credential.
		if sec, err := hex.DecodeString(r.Secret); err != nil || len(sec) != 16 {
			return nil, errorf(ErrCorrupt, "invite %s: the secret is not 32 hex digits", r.ID)
		}
		if r.NameHint != "" {
			if err := ValidateName(r.NameHint); err != nil {
				return nil, errorf(ErrCorrupt, "invite %s: name hint: %w", r.ID, err)
			}
		}
		if r.Created.IsZero() || r.Expires.IsZero() || r.Expires.Before(r.Created) {
			return nil, errorf(ErrCorrupt, "invite %s: creation or expiry time is missing or out of order", r.ID)
		}
		if r.Uses < 1 || r.Uses > MaxInviteUses || len(r.Joins) > r.Uses {
			return nil, errorf(ErrCorrupt, "invite %s: %d uses with %d joins", r.ID, r.Uses, len(r.Joins))
		}
		for _, j := range r.Joins {
			if err := ValidateName(j.Name); err != nil {
				return nil, errorf(ErrCorrupt, "invite %s: join: %w", r.ID, err)
			}
			if !validNodeID(j.NodeID) || len(j.Cert) == 0 || j.At.IsZero() {
				return nil, errorf(ErrCorrupt, "invite %s: join of %q is incomplete", r.ID, j.Name)
			}
		}
	}
	return f.Invites, nil
}

func encodeInvites(recs []inviteRecord) []byte {
	if recs == nil {
		recs = []inviteRecord{}
	}
	// Strings, times, ints and byte slices always marshal.
	b, _ := json.MarshalIndent(invitesFile{Invites: recs}, "", "  ")
	return append(b, '\n')
}

// pruneInvites drops records that expired more than invitePruneAfter ago.
func pruneInvites(recs []inviteRecord, now time.Time) []inviteRecord {
	return slices.DeleteFunc(slices.Clone(recs), func(r inviteRecord) bool {
		return now.After(r.Expires.Add(invitePruneAfter))
	})
}

// invitesSpec is the commit entry that writes recs: mode 0600, since the
// file holds the invite secrets.
func invitesSpec(recs []inviteRecord) fileSpec {
	return fileSpec{name: FileInvites, data: encodeInvites(recs), perm: secretMode}
}

// CreateInvite makes an invite and returns its token (see Token.Encode).
// The owner keeps the record, secret included, in invites.json (0600).
// Owner only (ErrNotOwner); bad options match ErrInvalidOption or
// ErrInvalidName. Records that expired more than a week ago are pruned.
func (s *State) CreateInvite(o InviteOptions) (Token, error) {
	if s.CAKey == nil {
		return Token{}, errorf(ErrNotOwner, "group: this node is not the owner of group %q; only the owner can invite", s.Name)
	}
	if o.Now.IsZero() {
		return Token{}, errorf(ErrInvalidOption, "group: invite: time is zero")
	}
	ttl := o.TTL
	switch {
	case ttl == 0:
		ttl = DefaultInviteTTL
	case ttl < time.Second:
		return Token{}, errorf(ErrInvalidOption, "group: invite: lifetime %s is too short", o.TTL)
	case ttl > MaxInviteTTL:
		return Token{}, errorf(ErrInvalidOption, "group: invite: lifetime %s is longer than the limit of %s (30 days)", o.TTL, MaxInviteTTL)
	}
	uses := o.Uses
	switch {
	case uses == 0:
		uses = DefaultInviteUses
	case uses < 0 || uses > MaxInviteUses:
		return Token{}, errorf(ErrInvalidOption, "group: invite: %d uses; allowed are 1..%d", o.Uses, MaxInviteUses)
	}
	if o.NameHint != "" {
		if err := ValidateName(o.NameHint); err != nil {
			return Token{}, fmt.Errorf("group: invite: name hint: %w", err)
		}
	}
	if err := validateEndpoints(o.Endpoints); err != nil {
		return Token{}, fmt.Errorf("group: invite: %w", err)
	}
	expires := o.Now.Add(ttl).UTC().Truncate(time.Second)
	if err := checkValidity(s.CACert, fmt.Sprintf("group %q CA", s.Name), o.Now); err != nil {
		return Token{}, fmt.Errorf("group: invite: %w", err)
	}
	if expires.After(s.CACert.NotAfter) {
		return Token{}, errorf(ErrExpired, "group: invite: the group CA expires at %s, before the invite would", s.CACert.NotAfter.UTC().Format(time.RFC3339))
	}

	unlock, err := s.lockForWrite()
	if err != nil {
		return Token{}, err
	}
	defer unlock()
	recs, err := readInvites(s.Dir)
	if err != nil {
		return Token{}, err
	}
	recs = pruneInvites(recs, o.Now)
	if o.NameHint != "" {
		allocs, err := readAllocations(s.Dir, s.Layout)
		if err != nil {
			return Token{}, err
		}
		if use, ok := nameTaken(o.NameHint, allocs, recs, "", o.Now); ok {
			return Token{}, errorf(ErrNameTaken, "group: invite: the name %q is taken (%s); choose another name for the new router", o.NameHint, use)
		}
	}
	if len(recs) >= maxInvites {
		return Token{}, errorf(ErrInvalidOption, "group: invite: %d invites are on record, the limit; cancel unused ones (ipopd invite --cancel ID)", len(recs))
	}
	tok := Token{
		Group:         s.Name,
		CAFingerprint: sha256.Sum256(s.CACert.Raw),
		Endpoints:     slices.Clone(o.Endpoints),
		Expires:       expires,
	}
	for {
		if _, err := rand.Read(tok.ID[:]); err != nil {
			return Token{}, fmt.Errorf("group: invite: %w", err)
		}
		if !slices.ContainsFunc(recs, func(r inviteRecord) bool { return r.ID == tok.IDString() }) {
			break
		}
	}
	if _, err := rand.Read(tok.Secret[:]); err != nil {
		return Token{}, fmt.Errorf("group: invite: %w", err)
	}
	recs = append(recs, inviteRecord{
		ID:       tok.IDString(),
		Secret:   hex.EncodeToString(tok.Secret[:]),
		NameHint: o.NameHint,
		Created:  o.Now.UTC().Truncate(time.Second),
		Expires:  expires,
		Uses:     uses,
	})
	if err := commitFiles(s.Dir, []fileSpec{invitesSpec(recs)}); err != nil {
		return Token{}, fmt.Errorf("group: invite: %w", err)
	}
	return tok, nil
}

// Invites lists the owner's invite records, oldest first, as they stand
// at now. It never returns secrets. Owner only.
func (s *State) Invites(now time.Time) ([]InviteInfo, error) {
	if s.CAKey == nil {
		return nil, errorf(ErrNotOwner, "group: only the owner of group %q keeps invites", s.Name)
	}
	if now.IsZero() {
		return nil, errorf(ErrInvalidOption, "group: invites: time is zero")
	}
	unlock, err := lockDir(s.Dir, false)
	if err != nil {
		return nil, fmt.Errorf("group: %w", err)
	}
	defer unlock()
	recs, err := readInvites(s.Dir)
	if err != nil {
		return nil, err
	}
	recs = pruneInvites(recs, now)
	slices.SortStableFunc(recs, func(a, b inviteRecord) int { return a.Created.Compare(b.Created) })
	out := make([]InviteInfo, 0, len(recs))
	for i := range recs {
		out = append(out, recs[i].info(now))
	}
	return out, nil
}

// CancelInvite makes an invite unusable; id is its hex id as Invites and
// Token.IDString show it (a unique prefix of at least 4 digits will do).
// The record stays, marked cancelled, until it is pruned. An unknown id
// matches ErrInviteUnknown. Cancelling twice is not an error.
func (s *State) CancelInvite(id string) error {
	if s.CAKey == nil {
		return errorf(ErrNotOwner, "group: only the owner of group %q can cancel invites", s.Name)
	}
	id = strings.ToLower(strings.TrimSpace(id))
	if len(id) < 4 {
		return errorf(ErrInvalidOption, "group: cancel invite: id %q is too short; give at least 4 hex digits", shorten(id))
	}
	unlock, err := s.lockForWrite()
	if err != nil {
		return err
	}
	defer unlock()
	recs, err := readInvites(s.Dir)
	if err != nil {
		return err
	}
	match := -1
	for i, r := range recs {
		if strings.HasPrefix(r.ID, id) {
			if match >= 0 {
				return errorf(ErrInvalidOption, "group: cancel invite: %q matches invites %s and %s; give more digits", shorten(id), recs[match].ID, r.ID)
			}
			match = i
		}
	}
	if match < 0 {
		return errorf(ErrInviteUnknown, "group: cancel invite: no invite %q on record", shorten(id))
	}
	if recs[match].Cancelled {
		return nil
	}
	recs = slices.Clone(recs)
	recs[match].Cancelled = true
	if err := commitFiles(s.Dir, []fileSpec{invitesSpec(recs)}); err != nil {
		return fmt.Errorf("group: cancel invite: %w", err)
	}
	return nil
}

package natsx

import (
	"fmt"
	"slices"

	"github.com/nats-io/jwt/v2"
)

// ServiceGrant is what one service does on the broker; its credential's permissions follow
// from it (Authority.IssueService) and allow nothing else:
//
//   - every service subscribes to the iam service's events, huiyuan.*.iam.v1.> (API-key
//     revocations invalidate its auth cache), to the member service's member token
//     revocations (MemberTokenRevocations, for its member token cache), and to its own inbox
//     (replies to its JetStream requests);
//   - a producer publishes on its own subjects, huiyuan.*.<service>.v1.>, and declares, reads
//     and audits its own stream (what eventlog's relay does: stream create (never update) and
//     info, message get and direct get);
//   - a consumer reads each producer's stream through one durable consumer, Durable: create or
//     update it, its info, pull (MSG.NEXT), ack, nak and term; plus the stream's info and
//     message gets (what eventlog's consumer does for gap checks).
//
// Nothing else: no other stream or consumer, no deletes, no stream or consumer listings.
type ServiceGrant struct {
	// Service names the service and, when it produces, its stream and subjects ("loyalty").
	Service string
	// Produces is set when the service publishes events through its relay.
	Produces bool
	// Consumes lists the producing services whose streams it reads ("member").
	Consumes []string
	// Durable names its durable consumer on those streams; "" means Service.
	Durable string
}

// durable returns the durable consumer name of g.
func (g ServiceGrant) durable() string {
	if g.Durable != "" {
		return g.Durable
	}
	return g.Service
}

func (g ServiceGrant) validate() error {
	if err := ValidateService(g.Service); err != nil {
		return err
	}
	for _, p := range g.Consumes {
		if err := ValidateService(p); err != nil {
			return fmt.Errorf("consumes: %w", err)
		}
	}
	if len(g.Consumes) > 0 && !ValidToken(g.durable()) {
		return fmt.Errorf("natsx: durable %q must be 1 to 64 of [a-z0-9_-]", g.durable())
	}
	return nil
}

// iamEvents are the subjects every process subscribes to: the iam service's events, which
// invalidate auth caches (StreamSubjects("iam")).
const iamEvents = "huiyuan.*.iam.v1.>"

// MemberTokenRevocations is the member service's event every process subscribes to as well: a
// member token (or all of a member's) was revoked, which invalidates the member token caches.
const MemberTokenRevocations = "huiyuan.*.member.v1.member_tokens_revoked"

// jsAPI is the JetStream API prefix. A JetStream domain would change it; Huiyuan uses none.
const jsAPI = "$JS.API."

// servicePermissions computes the permissions of a credential whose inbox prefix is inbox and
// that runs the services in grants. The lists are sorted and free of duplicates.
func servicePermissions(inbox string, grants []ServiceGrant) (jwt.Permissions, error) {
	var pub, sub []string
	sub = append(sub, iamEvents, MemberTokenRevocations, inbox+".>")
	for _, g := range grants {
		if err := g.validate(); err != nil {
			return jwt.Permissions{}, err
		}
		if g.Produces {
			s := StreamName(g.Service)
			// Create, never update: EnsureStream declares a stream once and refuses one that was
			// rewired, so a stolen credential cannot make its stream republish or source.
			pub = append(pub, StreamSubjects(g.Service), jsAPI+"STREAM.CREATE."+s)
			pub = append(pub, readStream(s)...)
		}
		d := g.durable()
		for _, p := range g.Consumes {
			s := StreamName(p)
			pub = append(pub, readStream(s)...)
			pub = append(pub,
				// CreateOrUpdateConsumer names the filter in the subject when there is one.
				jsAPI+"CONSUMER.CREATE."+s+"."+d, jsAPI+"CONSUMER.CREATE."+s+"."+d+".>",
				jsAPI+"CONSUMER.INFO."+s+"."+d,
				jsAPI+"CONSUMER.MSG.NEXT."+s+"."+d,
				// Ack, nak and term reply to the message's ack subject: $JS.ACK.<stream>.<consumer>...,
				// or $JS.ACK.<domain>.<account hash>.<stream>.<consumer>... in the newer format.
				"$JS.ACK."+s+"."+d+".>", "$JS.ACK.*.*."+s+"."+d+".>",
			)
		}
	}
	var p jwt.Permissions
	if len(pub) == 0 {
		p.Pub.Deny.Add(">") // an empty allow list would allow everything
	}
	p.Pub.Allow.Add(sortedUnique(pub)...)
	p.Sub.Allow.Add(sortedUnique(sub)...)
	return p, nil
}

// readStream is what reading stream s takes: its info (which also says whether direct get is
// allowed) and its messages, by sequence or last by subject, through either API.
func readStream(s string) []string {
	return []string{
		jsAPI + "STREAM.INFO." + s,
		jsAPI + "STREAM.MSG.GET." + s,
		jsAPI + "DIRECT.GET." + s,
		jsAPI + "DIRECT.GET." + s + ".>",
	}
}

func sortedUnique(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}

// inboxPrefix is the inbox prefix of the user whose public key is user. Only that user may
// subscribe under it, so nobody reads another's replies.
func inboxPrefix(user string) string { return "_INBOX_" + user }

// ValidToken reports whether s is 1 to 64 of [a-z0-9_-]: one subject token without wildcards
// or separators, so it cannot widen a subject or permission it is put into. Durable consumer
// names follow it.
func ValidToken(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

package natsx

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// DefaultMaxAge is how long a stream keeps events by default: as long as the services keep
// their own event logs.
const DefaultMaxAge = 7 * 24 * time.Hour

// DuplicateWindow is the stream's Nats-Msg-Id de-duplication window.
const DuplicateWindow = 2 * time.Minute

// StreamOption adjusts the stream EnsureStream declares.
type StreamOption func(*jetstream.StreamConfig)

// WithMaxAge keeps messages for d (d > 0) instead of DefaultMaxAge.
func WithMaxAge(d time.Duration) StreamOption {
	return func(c *jetstream.StreamConfig) {
		if d > 0 {
			c.MaxAge = d
		}
	}
}

// WithReplicas replicates the stream n ways (n >= 1) in a clustered JetStream.
func WithReplicas(n int) StreamOption {
	return func(c *jetstream.StreamConfig) {
		if n >= 1 {
			c.Replicas = n
		}
	}
}

// ValidateService reports whether service can name a stream and a subject token: lowercase
// letters, digits and single underscores, starting with a letter, at most 32 characters.
func ValidateService(service string) error {
	if len(service) == 0 || len(service) > 32 || service[0] < 'a' || service[0] > 'z' || service[len(service)-1] == '_' {
		return fmt.Errorf("natsx: invalid service name %q", service)
	}
	prev := byte(0)
	for i := 0; i < len(service); i++ {
		c := service[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '_' && prev != '_':
		default:
			return fmt.Errorf("natsx: invalid service name %q", service)
		}
		prev = c
	}
	return nil
}

// StreamName is the JetStream stream holding service's events, such as "LOYALTY".
func StreamName(service string) string { return strings.ToUpper(service) }

// StreamSubjects is the subject filter of service's stream: every tenant's events,
// "huiyuan.*.<service>.v1.>".
func StreamSubjects(service string) string { return "huiyuan.*." + service + ".v1.>" }

// StreamConfig is the configuration EnsureStream declares for service: file storage, limits
// retention for DefaultMaxAge (or WithMaxAge), a DuplicateWindow de-duplication window, and
// atomic batch publishing allowed, so a relay can publish many events per round trip with its
// expected-sequence check (nats-server 2.12 and later; older servers ignore the setting, and
// the stream's info then says it is off).
func StreamConfig(service string, opts ...StreamOption) jetstream.StreamConfig {
	c := jetstream.StreamConfig{
		Name:        StreamName(service),
		Description: "Huiyuan " + service + " events",
		Subjects:    []string{StreamSubjects(service)},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxAge:      DefaultMaxAge,
		Duplicates:  DuplicateWindow,
		Replicas:    1,

		AllowAtomicPublish: true,
	}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// EnsureStream returns service's stream, creating it with StreamConfig(service, opts...) when it
// does not exist. An existing stream is never updated: a service's broker credential may create
// its stream but not change it, so a stolen credential cannot rewire the stream to republish
// into, or source from, another service's subjects. An existing stream whose configuration could
// carry messages that are not the service's own (other subjects, republish, sources, a mirror)
// is refused with an error. It is idempotent and safe to call from several processes. It returns
// an error for an invalid service name or when JetStream refuses or does not answer before ctx
// ends.
func EnsureStream(ctx context.Context, js jetstream.JetStream, service string, opts ...StreamOption) (jetstream.Stream, error) {
	if err := ValidateService(service); err != nil {
		return nil, err
	}
	cfg := StreamConfig(service, opts...)
	s, err := js.Stream(ctx, cfg.Name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		s, err = js.CreateStream(ctx, cfg)
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) { // another process won the race
			s, err = js.Stream(ctx, cfg.Name)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("natsx: ensure stream %s: %w", cfg.Name, err)
	}
	if err := checkStream(s.CachedInfo().Config, cfg); err != nil {
		return nil, err
	}
	return s, nil
}

// checkStream refuses a stream whose configuration lets it hold messages other than the
// service's own.
func checkStream(got, want jetstream.StreamConfig) error {
	switch {
	case !slices.Equal(got.Subjects, want.Subjects):
		return fmt.Errorf("natsx: stream %s has subjects %v, want %v: it was not declared by Huiyuan", got.Name, got.Subjects, want.Subjects)
	case got.RePublish != nil, len(got.Sources) > 0, got.Mirror != nil:
		return fmt.Errorf("natsx: stream %s republishes, sources or mirrors other streams: it was not declared by Huiyuan", got.Name)
	}
	return nil
}

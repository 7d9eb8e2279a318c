package natsx

import (
	"context"
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
// retention for DefaultMaxAge (or WithMaxAge), a DuplicateWindow de-duplication window.
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
	}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// EnsureStream creates service's stream, or updates it to StreamConfig(service, opts...), and
// returns it. A stream that already has the declared settings is left alone: an update while
// another service creates its consumer on the stream races inside nats-server (2.15, found by
// the race detector at a restart), and there is nothing to update. It is idempotent and safe to
// call from several processes. It returns an error for an invalid service name or when
// JetStream refuses or does not answer before ctx ends.
func EnsureStream(ctx context.Context, js jetstream.JetStream, service string, opts ...StreamOption) (jetstream.Stream, error) {
	if err := ValidateService(service); err != nil {
		return nil, err
	}
	want := StreamConfig(service, opts...)
	if s, err := js.Stream(ctx, want.Name); err == nil {
		if info := s.CachedInfo(); info != nil && sameDeclared(info.Config, want) {
			return s, nil
		}
	}
	s, err := js.CreateOrUpdateStream(ctx, want)
	if err != nil {
		return nil, fmt.Errorf("natsx: ensure stream %s: %w", StreamName(service), err)
	}
	return s, nil
}

// sameDeclared reports whether a stream's configuration has every setting StreamConfig declares.
func sameDeclared(got, want jetstream.StreamConfig) bool {
	return got.Description == want.Description && slices.Equal(got.Subjects, want.Subjects) && got.Storage == want.Storage &&
		got.Retention == want.Retention && got.Discard == want.Discard && got.MaxAge == want.MaxAge &&
		got.Duplicates == want.Duplicates && got.Replicas == want.Replicas
}

// Package opsapi serves huiyuan.ops.v1.OperationsService for the stores and event logs one
// process holds: ListEvents lets any subscriber resynchronise from a service's own log (the source
// of truth, not the broker), and BackupDatabase streams an online copy of a bbolt file.
package opsapi

import (
	"context"
	"sort"

	"google.golang.org/protobuf/types/known/timestamppb"

	iamv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/iam/v1"
	opsv1 "github.com/huiyuan-dev/huiyuan/gen/huiyuan/ops/v1"
	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
	"github.com/huiyuan-dev/huiyuan/pkg/auth"
	"github.com/huiyuan-dev/huiyuan/pkg/boltx"
	"github.com/huiyuan-dev/huiyuan/pkg/eventlog"
)

// EventSource is one service's event log and the store it lives in.
type EventSource struct {
	Log *eventlog.Log
	DB  *boltx.DB
}

// Server implements OperationsService.
type Server struct {
	opsv1.UnimplementedOperationsServiceServer
	databases map[string]*boltx.DB
	sources   map[string]EventSource
}

// New returns a Server over the named databases and the event logs by service name.
func New(databases map[string]*boltx.DB, sources map[string]EventSource) *Server {
	return &Server{databases: databases, sources: sources}
}

// Policy lists the roles of each method: events for integrations and admins; backups for admins.
func Policy() auth.Policy {
	return auth.Policy{
		opsv1.OperationsService_Ping_FullMethodName:           {iamv1.Role_ADMIN, iamv1.Role_OPERATOR, iamv1.Role_SERVICE, iamv1.Role_ANALYST, iamv1.Role_MEMBER},
		opsv1.OperationsService_ListEvents_FullMethodName:     {iamv1.Role_ADMIN, iamv1.Role_SERVICE, iamv1.Role_ANALYST},
		opsv1.OperationsService_ListDatabases_FullMethodName:  {iamv1.Role_ADMIN},
		opsv1.OperationsService_BackupDatabase_FullMethodName: {iamv1.Role_ADMIN},
	}
}

// Ping answers who the caller is; it does nothing else.
func (s *Server) Ping(ctx context.Context, _ *opsv1.PingRequest) (*opsv1.PingResponse, error) {
	p, _ := auth.FromContext(ctx)
	return &opsv1.PingResponse{Tenant: p.Tenant, Role: p.Role.String()}, nil
}

// ListEvents returns the caller's tenant's events of one service after a sequence number.
func (s *Server) ListEvents(ctx context.Context, req *opsv1.ListEventsRequest) (*opsv1.ListEventsResponse, error) {
	src, ok := s.sources[req.GetService()]
	if !ok {
		return nil, apperr.InvalidField("service", "unknown service %q", req.GetService())
	}
	size := int(req.GetPageSize())
	switch {
	case size < 0:
		return nil, apperr.InvalidField("page_size", "must not be negative")
	case size == 0:
		size = 100
	case size > 1000:
		size = 1000
	}
	events, last, err := src.Log.List(ctx, src.DB, auth.TenantOf(ctx), req.GetAfterSequence(), size)
	if err != nil {
		return nil, err
	}
	resp := &opsv1.ListEventsResponse{LastSequence: last, Events: make([]*opsv1.Event, len(events))}
	for i, e := range events {
		resp.Events[i] = &opsv1.Event{
			Sequence: e.GetSequence(), Id: e.GetId(), Type: e.GetType(), Subject: e.GetSubject(),
			Time: timestamppb.New(e.GetTime().AsTime()), Payload: e.GetPayload(), PayloadType: e.GetPayloadType(),
			Epoch: e.GetEpoch(), EpochStart: e.GetEpochStart(),
		}
	}
	return resp, nil
}

// ListDatabases names the databases of this process. Installation operators only.
func (s *Server) ListDatabases(ctx context.Context, _ *opsv1.ListDatabasesRequest) (*opsv1.ListDatabasesResponse, error) {
	if err := requireOperator(ctx); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(s.databases))
	for n := range s.databases {
		names = append(names, n)
	}
	sort.Strings(names)
	return &opsv1.ListDatabasesResponse{Databases: names}, nil
}

// chunkSize keeps each streamed message well under gRPC's default 4 MiB limit.
const chunkSize = 1 << 20

// BackupDatabase streams a consistent copy of one database while it keeps serving.
func (s *Server) BackupDatabase(req *opsv1.BackupDatabaseRequest, stream opsv1.OperationsService_BackupDatabaseServer) error {
	ctx := stream.Context()
	if err := requireOperator(ctx); err != nil {
		return err
	}
	db, ok := s.databases[req.GetDatabase()]
	if !ok {
		return apperr.InvalidField("database", "unknown database %q", req.GetDatabase())
	}
	w := &chunkWriter{send: func(b []byte) error { return stream.Send(&opsv1.BackupDatabaseResponse{Chunk: b}) }}
	if _, err := db.Backup(ctx, w); err != nil {
		return err
	}
	return w.flush()
}

// requireOperator admits admins of the tenant "default": a database holds every tenant's data.
func requireOperator(ctx context.Context) error {
	p, ok := auth.FromContext(ctx)
	if !ok || p.Role != iamv1.Role_ADMIN || p.Tenant != auth.DefaultTenant {
		return apperr.E(apperr.PermissionDenied, "PERMISSION_DENIED", "backups are for admins of the default tenant")
	}
	return nil
}

// chunkWriter turns the bbolt copy's writes into messages of chunkSize bytes.
type chunkWriter struct {
	buf  []byte
	send func([]byte) error
}

func (w *chunkWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		room := chunkSize - len(w.buf)
		if room > len(p) {
			room = len(p)
		}
		w.buf = append(w.buf, p[:room]...)
		p = p[room:]
		if len(w.buf) == chunkSize {
			if err := w.flush(); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

func (w *chunkWriter) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	err := w.send(w.buf)
	w.buf = make([]byte, 0, chunkSize)
	return err
}

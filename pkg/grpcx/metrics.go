package grpcx

import (
	"errors"
	"log/slog"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
)

// latencyBuckets reach down to 100 µs: in-process calls and cached reads are that fast, and the
// default buckets start at 5 ms.
func latencyBuckets() []float64 {
	return []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
}

// serverMetrics registers the gRPC server metrics on reg, or returns the ones already registered
// there (a server and a Channel share them). It returns nil when reg is nil or refuses them.
func serverMetrics(reg prometheus.Registerer, log *slog.Logger) *grpcprom.ServerMetrics {
	if reg == nil {
		return nil
	}
	m := grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram(grpcprom.WithHistogramBuckets(latencyBuckets())))
	err := reg.Register(m)
	if err == nil {
		return m
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(*grpcprom.ServerMetrics); ok {
			return existing
		}
	}
	log.Error("gRPC metrics not registered", "error", err.Error())
	return nil
}

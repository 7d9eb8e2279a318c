package grpcx

import (
	"context"
	"log/slog"
	"runtime/debug"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/huiyuan-dev/huiyuan/pkg/auth"
	"github.com/huiyuan-dev/huiyuan/pkg/idempotency"
)

// UnaryInterceptors returns the unary chain, outermost first: recovery, logging, metrics (when
// cfg.Registry is set), errors, auth, the rate limit (cfg.Limiter, keyed on the principal auth
// found, so it protects gRPC callers and the JSON edge alike), idempotency. Errors sits inside logging and metrics, so
// those see the final codes; it wraps auth and idempotency, so their errors reach callers as
// statuses with details. Errors also recovers panics of handlers (so they are logged and counted
// as Internal); the outer recovery only catches panics of the interceptors themselves.
func UnaryInterceptors(cfg Config) []grpc.UnaryServerInterceptor {
	log := cfg.logger()
	onPanic := panicHandler(log)
	chain := []grpc.UnaryServerInterceptor{
		recovery.UnaryServerInterceptor(recovery.WithRecoveryHandlerContext(onPanic)),
		unaryLogging(log),
	}
	if m := serverMetrics(cfg.Registry, log); m != nil {
		chain = append(chain, m.UnaryServerInterceptor())
	}
	return append(chain,
		unaryErrors(cfg.domains(), log, onPanic),
		auth.UnaryServerInterceptor(cfg.Auth, cfg.policy()),
		unaryRateLimit(cfg.Limiter),
		idempotency.UnaryServerInterceptor(),
	)
}

// StreamInterceptors returns the streaming chain: UnaryInterceptors' order without idempotency
// (streaming methods do not mutate).
func StreamInterceptors(cfg Config) []grpc.StreamServerInterceptor {
	log := cfg.logger()
	onPanic := panicHandler(log)
	chain := []grpc.StreamServerInterceptor{
		recovery.StreamServerInterceptor(recovery.WithRecoveryHandlerContext(onPanic)),
		streamLogging(log),
	}
	if m := serverMetrics(cfg.Registry, log); m != nil {
		chain = append(chain, m.StreamServerInterceptor())
	}
	return append(chain,
		streamErrors(cfg.domains(), log, onPanic),
		auth.StreamServerInterceptor(cfg.Auth, cfg.policy()),
		streamRateLimit(cfg.Limiter),
	)
}

// unaryRateLimit refuses a call over its principal's rate (ResourceExhausted, RATE_LIMITED,
// with a RetryInfo the JSON edge turns into Retry-After).
func unaryRateLimit(l *auth.Limiter) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if err := l.Allow(ctx); err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// streamRateLimit charges a stream once, when it opens.
func streamRateLimit(l *auth.Limiter) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if err := l.Allow(ss.Context()); err != nil {
			return err
		}
		return handler(srv, ss)
	}
}

// panicHandler logs a panic with its stack and answers Internal without any of its text.
func panicHandler(log *slog.Logger) recovery.RecoveryHandlerFuncContext {
	return func(ctx context.Context, p any) error {
		method, _ := grpc.Method(ctx)
		log.ErrorContext(ctx, "panic in gRPC handler", "grpc.method", method, "panic", p, "stack", string(debug.Stack()))
		return status.Error(codes.Internal, internalMessage)
	}
}

// unaryErrors maps handler errors with ToStatus, logging those whose text it hides.
func unaryErrors(domain func(method string) string, log *slog.Logger, onPanic recovery.RecoveryHandlerFuncContext) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if p := recover(); p != nil {
				resp, err = nil, onPanic(ctx, p)
			}
		}()
		resp, err = handler(ctx, req)
		if err != nil {
			return nil, mapError(ctx, log, info.FullMethod, domain, err)
		}
		return resp, nil
	}
}

// streamErrors is unaryErrors for streams.
func streamErrors(domain func(method string) string, log *slog.Logger, onPanic recovery.RecoveryHandlerFuncContext) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = onPanic(ss.Context(), p)
			}
		}()
		if err = handler(srv, ss); err != nil {
			return mapError(ss.Context(), log, info.FullMethod, domain, err)
		}
		return nil
	}
}

func mapError(ctx context.Context, log *slog.Logger, method string, domain func(string) string, err error) error {
	if IsInternal(err) {
		log.ErrorContext(ctx, "internal error", "grpc.method", method, "error", err.Error())
	}
	return ToStatus(err, domain(method))
}

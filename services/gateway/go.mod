module github.com/huiyuan-dev/huiyuan/services/gateway

go 1.26.0

require (
	github.com/huiyuan-dev/huiyuan/gen v0.0.0
	github.com/huiyuan-dev/huiyuan/pkg v0.0.0
)

require (
	github.com/grpc-ecosystem/grpc-gateway/v2 v2.32.0 // indirect
	github.com/prometheus/client_golang v1.25.0 // indirect
	github.com/rs/cors v1.11.1 // indirect
	golang.org/x/time v0.16.0 // indirect
)

replace (
	github.com/huiyuan-dev/huiyuan/gen => ../../gen
	github.com/huiyuan-dev/huiyuan/pkg => ../../pkg
)

module github.com/huiyuan-dev/huiyuan/services/suite

go 1.26.0

require (
	github.com/huiyuan-dev/huiyuan/gen v0.0.0
	github.com/huiyuan-dev/huiyuan/pkg v0.0.0
)

replace (
	github.com/huiyuan-dev/huiyuan/gen => ../../gen
	github.com/huiyuan-dev/huiyuan/pkg => ../../pkg
)

require github.com/huiyuan-dev/huiyuan/services/member v0.0.0

require (
	github.com/huiyuan-dev/huiyuan/services/gateway v0.0.0
	github.com/nats-io/nats-server/v2 v2.15.2
	github.com/nats-io/nats.go v1.55.0
	github.com/prometheus/client_golang v1.25.0 // indirect
	go.etcd.io/bbolt v1.5.0
	google.golang.org/grpc v1.85.0
	google.golang.org/protobuf v1.36.12
)

require (
	github.com/antithesishq/antithesis-sdk-go v0.8.0-default-no-op // indirect
	github.com/beorn7/perks v1.0.1 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/golang-jwt/jwt/v5 v5.3.1 // indirect
	github.com/google/go-tpm v0.9.8 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus v1.1.1 // indirect
	github.com/grpc-ecosystem/go-grpc-middleware/v2 v2.3.4 // indirect
	github.com/grpc-ecosystem/grpc-gateway/v2 v2.32.0 // indirect
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	github.com/jackc/puddle/v2 v2.2.3 // indirect
	github.com/klauspost/compress v1.20.3 // indirect
	github.com/minio/highwayhash v1.0.4 // indirect
	github.com/munnerz/goautoneg v0.0.0-20191010083416-a7dc8b61c822 // indirect
	github.com/nats-io/jwt/v2 v2.8.2 // indirect
	github.com/nats-io/nkeys v0.4.16 // indirect
	github.com/nats-io/nuid v1.0.1 // indirect
	github.com/nyaruka/phonenumbers v1.8.1 // indirect
	github.com/prometheus/client_model v0.6.3 // indirect
	github.com/prometheus/common v0.72.0 // indirect
	github.com/prometheus/procfs v0.22.0 // indirect
	github.com/rs/cors v1.11.1 // indirect
	golang.org/x/crypto v0.58.0 // indirect
	golang.org/x/mod v0.42.0 // indirect
	golang.org/x/net v0.61.0 // indirect
	golang.org/x/sync v0.24.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/text v0.43.0 // indirect
	golang.org/x/time v0.16.0 // indirect
	google.golang.org/genproto/googleapis/api v0.0.0-20261012220534-4341edf3f941 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20261019180522-ce908d29299b // indirect
)

replace github.com/huiyuan-dev/huiyuan/services/member => ../member

replace github.com/huiyuan-dev/huiyuan/services/gateway => ../gateway

require (
	github.com/huiyuan-dev/huiyuan/services/iam v0.0.0
	github.com/huiyuan-dev/huiyuan/services/loyalty v0.0.0
	github.com/jackc/pgx/v5 v5.13.0
)

replace github.com/huiyuan-dev/huiyuan/services/loyalty => ../loyalty

replace github.com/huiyuan-dev/huiyuan/services/iam => ../iam

require github.com/huiyuan-dev/huiyuan/services/coupon v0.0.0

replace github.com/huiyuan-dev/huiyuan/services/coupon => ../coupon

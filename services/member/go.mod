module github.com/huiyuan-dev/huiyuan/services/member

go 1.26.0

require (
	github.com/huiyuan-dev/huiyuan/gen v0.0.0
	github.com/huiyuan-dev/huiyuan/pkg v0.0.0
)

require (
	github.com/nyaruka/phonenumbers v1.8.1 // indirect
	golang.org/x/text v0.43.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

replace (
	github.com/huiyuan-dev/huiyuan/gen => ../../gen
	github.com/huiyuan-dev/huiyuan/pkg => ../../pkg
)

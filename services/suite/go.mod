module github.com/huiyuan-dev/huiyuan/services/suite

go 1.26

require (
	github.com/huiyuan-dev/huiyuan/gen v0.0.0
	github.com/huiyuan-dev/huiyuan/pkg v0.0.0
)

replace (
	github.com/huiyuan-dev/huiyuan/gen => ../../gen
	github.com/huiyuan-dev/huiyuan/pkg => ../../pkg
)

require github.com/huiyuan-dev/huiyuan/services/member v0.0.0
require github.com/huiyuan-dev/huiyuan/services/gateway v0.0.0

replace github.com/huiyuan-dev/huiyuan/services/member => ../member
replace github.com/huiyuan-dev/huiyuan/services/gateway => ../gateway

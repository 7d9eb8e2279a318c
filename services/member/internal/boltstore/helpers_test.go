package boltstore_test

import (
	"errors"

	"google.golang.org/protobuf/proto"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
)

func errorsAs(err error, target **apperr.Error) bool { return errors.As(err, target) }

func protoUnmarshal(b []byte, m proto.Message) error { return proto.Unmarshal(b, m) }

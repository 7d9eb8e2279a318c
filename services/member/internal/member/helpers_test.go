package member_test

import (
	"errors"

	"github.com/huiyuan-dev/huiyuan/pkg/apperr"
)

func asAppErr(err error, target **apperr.Error) bool { return errors.As(err, target) }

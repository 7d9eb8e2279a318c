//go:build !unix

package boltx

import (
	"errors"
	"os"
)

// tryLock cannot tell here whether another process has the file open, so Restore refuses
// rather than risk replacing a file in use.
func tryLock(*os.File) error {
	return errors.New("restore is supported on unix systems only")
}

// unlock has nothing to release here beyond closing f.
func unlock(*os.File) {}

// Package config reads a process's settings from flags, with environment variables as the
// fallback, so every setting has one name, one default, one parser and one error message.
package config

import (
	"errors"
	"flag"
	"fmt"
	"strings"
)

// EnvName is the environment variable that backs a flag: prefix + upper snake of the flag name,
// so "http-addr" with prefix "HUIYUAN_" is HUIYUAN_HTTP_ADDR.
func EnvName(prefix, flagName string) string {
	return prefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// ErrOperands is wrapped by the error Parse returns for arguments left after the flags when
// the command takes none (AllowOperands not given): the flag package stops at the first of them,
// so the flags that follow it would be silently ignored.
var ErrOperands = errors.New("unexpected arguments")

// Option changes how Parse reads the command line.
type Option func(*options)

type options struct{ operands bool }

// AllowOperands lets the command line end in operands (a file name, say), left in fs.Args().
func AllowOperands() Option { return func(o *options) { o.operands = true } }

// Parse parses args into fs; every flag not given on the command line takes its environment
// variable's value when that is set. A value that does not parse is an error naming both the flag
// and the variable, so a bad setting stops the process with a message that says which one.
// Arguments after the flags are refused (an error wrapping ErrOperands, after fs.Usage) unless
// AllowOperands is given.
func Parse(fs *flag.FlagSet, args []string, prefix string, getenv func(string) string, opts ...Option) error {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 && !o.operands {
		err := fmt.Errorf("%w %q: the command takes flags only", ErrOperands, fs.Args())
		fmt.Fprintf(fs.Output(), "%v\n", err)
		fs.Usage()
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] {
			return
		}
		env := EnvName(prefix, f.Name)
		v := getenv(env)
		if v == "" {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			errs = append(errs, fmt.Errorf("invalid %s=%q (flag --%s): %w", env, v, f.Name, err))
		}
	})
	return errors.Join(errs...)
}

// Problems collects validation failures of a whole configuration, each naming its setting.
type Problems []string

// Addf records a problem with a setting.
func (p *Problems) Addf(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

// Err returns all problems as one error, or nil.
func (p Problems) Err() error {
	if len(p) == 0 {
		return nil
	}
	return errors.New("invalid configuration: " + strings.Join(p, "; "))
}

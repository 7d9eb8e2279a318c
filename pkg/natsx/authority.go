package natsx

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nkeys"
)

// The names the JWTs carry. They are labels for logs and monitoring: NATS knows operators and
// accounts by their public keys.
const (
	operatorName      = "huiyuan"
	accountName       = "HUIYUAN"
	systemAccountName = "SYS"
)

// connectOverhead is what a CONNECT line holds besides the JWT: the nonce signature, the client's
// name, version and options.
const connectOverhead = 1024

// AuthorityFile is the file, inside an Authority's directory, that holds its keys.
const AuthorityFile = "authority.json"

// authorityKeys is the on-disk form of an Authority: every seed in one file, so creating it is
// one atomic step and a crash never leaves half a trust chain.
type authorityKeys struct {
	Operator      string `json:"operator"`
	Account       string `json:"account"`
	SystemAccount string `json:"system_account"`
	TenantSigner  string `json:"tenant_signer"`
}

// Authority is the root of the broker's decentralized auth: an operator, the HUIYUAN account
// that holds every Huiyuan subject, the system account the servers need, and a signing key of
// the HUIYUAN account scoped to tenant subscribers (TenantIssuer). Servers trust the operator
// (ServerAuth); service credentials are signed by the account key (IssueService); tenant
// credentials by the scoped key, whose permissions the account JWT fixes, so whoever holds only
// that key can issue nothing but read-only credentials for one tenant's subjects.
//
// Credentials are verified by the servers against the account JWT alone: new ones can be issued
// at any time without touching the servers. An Authority is safe for concurrent use.
type Authority struct {
	operator, account, system nkeys.KeyPair
	accountPub, systemPub     string
	tenants                   *TenantIssuer
}

// OpenAuthority loads the authority kept in dir, or creates one there on first use: dir with
// mode 0700 and AuthorityFile with mode 0600. Two processes creating it at once end with the same
// authority. It returns an error when dir cannot be read or written, or when the file is
// malformed (it is never replaced: every credential issued so far depends on it).
func OpenAuthority(dir string) (*Authority, error) {
	path := filepath.Join(dir, AuthorityFile)
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		raw, err = createAuthority(dir, path)
	}
	if err != nil {
		return nil, fmt.Errorf("natsx: authority %s: %w", path, err)
	}
	a, err := parseAuthority(raw)
	if err != nil {
		return nil, fmt.Errorf("natsx: authority %s: %w", path, err)
	}
	return a, nil
}

// createAuthority writes new keys to path, unless another process did first: then it returns
// that process's file.
func createAuthority(dir, path string) ([]byte, error) {
	var keys authorityKeys
	for _, k := range []struct {
		dst    *string
		create func() (nkeys.KeyPair, error)
	}{
		{&keys.Operator, nkeys.CreateOperator},
		{&keys.Account, nkeys.CreateAccount},
		{&keys.SystemAccount, nkeys.CreateAccount},
		{&keys.TenantSigner, nkeys.CreateAccount},
	} {
		kp, err := k.create()
		if err != nil {
			return nil, fmt.Errorf("create key: %w", err)
		}
		seed, err := kp.Seed()
		if err != nil {
			return nil, fmt.Errorf("create key: %w", err)
		}
		*k.dst = string(seed)
	}
	raw, err := json.MarshalIndent(keys, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode keys: %w", err)
	}
	raw = append(raw, '\n')
	if err := writeSecret(path, raw, false); errors.Is(err, fs.ErrExist) {
		return os.ReadFile(path) // another process won the race: use its keys
	} else if err != nil {
		return nil, err
	}
	return raw, nil
}

func parseAuthority(raw []byte) (*Authority, error) {
	var keys authorityKeys
	if err := json.Unmarshal(raw, &keys); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	a := &Authority{}
	var signer nkeys.KeyPair
	for _, k := range []struct {
		name   string
		seed   string
		prefix nkeys.PrefixByte
		dst    *nkeys.KeyPair
	}{
		{"operator", keys.Operator, nkeys.PrefixByteOperator, &a.operator},
		{"account", keys.Account, nkeys.PrefixByteAccount, &a.account},
		{"system_account", keys.SystemAccount, nkeys.PrefixByteAccount, &a.system},
		{"tenant_signer", keys.TenantSigner, nkeys.PrefixByteAccount, &signer},
	} {
		kp, err := keyFromSeed(k.seed, k.prefix)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k.name, err)
		}
		*k.dst = kp
	}
	var err error
	if a.accountPub, err = a.account.PublicKey(); err != nil {
		return nil, err
	}
	if a.systemPub, err = a.system.PublicKey(); err != nil {
		return nil, err
	}
	if a.tenants, err = newTenantIssuer(a.accountPub, signer); err != nil {
		return nil, err
	}
	return a, nil
}

// keyFromSeed decodes an nkey seed and checks it is of the expected kind.
func keyFromSeed(seed string, want nkeys.PrefixByte) (nkeys.KeyPair, error) {
	kp, err := nkeys.FromSeed([]byte(seed))
	if err != nil {
		return nil, fmt.Errorf("invalid seed: %w", err)
	}
	pub, err := kp.PublicKey()
	if err != nil {
		return nil, err
	}
	if got := nkeys.Prefix(pub); got != want {
		return nil, fmt.Errorf("seed is a %s key, want %s", got, want)
	}
	return kp, nil
}

// Account is the public key of the HUIYUAN account.
func (a *Authority) Account() string { return a.accountPub }

// TenantIssuer returns the issuer of tenant credentials, for the iam service in process (or
// TenantIssuer.WriteFile for an iam process of its own).
func (a *Authority) TenantIssuer() *TenantIssuer { return a.tenants }

// ServerAuth returns what a NATS server needs to trust this authority: for StartEmbedded
// (EmbeddedConfig.Auth), or as auth.conf for external servers (ServerAuth.Config). The JWTs
// are signed afresh on each call and carry no expiry.
func (a *Authority) ServerAuth() (*ServerAuth, error) {
	opPub, err := a.operator.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("natsx: server auth: %w", err)
	}
	op := jwt.NewOperatorClaims(opPub)
	op.Name = operatorName
	op.SystemAccount = a.systemPub
	opJWT, err := op.Encode(a.operator)
	if err != nil {
		return nil, fmt.Errorf("natsx: sign operator: %w", err)
	}

	acc := jwt.NewAccountClaims(a.accountPub)
	acc.Name = accountName
	// JetStream is off in an account unless its JWT sets limits; the broker is Huiyuan's alone.
	acc.Limits.JetStreamLimits = jwt.JetStreamLimits{
		MemoryStorage: jwt.NoLimit, DiskStorage: jwt.NoLimit, Streams: jwt.NoLimit, Consumer: jwt.NoLimit,
		MaxAckPending: jwt.NoLimit,
	}
	acc.Limits.DisallowBearer = true // every credential proves its key: a leaked JWT alone is useless
	acc.SigningKeys.AddScopedSigner(a.tenants.scope())
	accJWT, err := acc.Encode(a.operator)
	if err != nil {
		return nil, fmt.Errorf("natsx: sign account: %w", err)
	}

	sys := jwt.NewAccountClaims(a.systemPub)
	sys.Name = systemAccountName
	sysJWT, err := sys.Encode(a.operator)
	if err != nil {
		return nil, fmt.Errorf("natsx: sign system account: %w", err)
	}
	return &ServerAuth{
		OperatorJWT:   opJWT,
		SystemAccount: a.systemPub,
		Accounts:      map[string]string{a.accountPub: accJWT, a.systemPub: sysJWT},
	}, nil
}

// IssueService issues the credential of a process that runs the services in grants (one
// grant for a process of its own; several for a process that hosts them together), named name
// in the broker's logs. Its permissions are exactly what the grants need (ServiceGrant); it
// does not expire: rotate it by issuing another and restarting the process. It returns an
// error for an invalid name or grant.
func (a *Authority) IssueService(name string, grants ...ServiceGrant) (*Credential, error) {
	if err := ValidateService(name); err != nil {
		return nil, fmt.Errorf("natsx: issue service credential: %w", err)
	}
	if len(grants) == 0 {
		return nil, fmt.Errorf("natsx: issue service credential %s: no grants", name)
	}
	user, pub, err := newUser()
	if err != nil {
		return nil, fmt.Errorf("natsx: issue service credential: %w", err)
	}
	perms, err := servicePermissions(inboxPrefix(pub), grants)
	if err != nil {
		return nil, fmt.Errorf("natsx: issue service credential %s: %w", name, err)
	}
	uc := jwt.NewUserClaims(pub)
	uc.Name = name
	uc.Permissions = perms
	uc.Tags.Add("service:" + name)
	token, err := uc.Encode(a.account)
	if err != nil {
		return nil, fmt.Errorf("natsx: sign service credential %s: %w", name, err)
	}
	// The JWT travels in the CONNECT line; one the servers refuse would only show as a client
	// reconnecting forever.
	if len(token) > MaxControlLine-connectOverhead {
		return nil, fmt.Errorf("natsx: service credential %s is %d bytes, too large for a CONNECT line of %d: give its services credentials of their own",
			name, len(token), MaxControlLine)
	}
	return newCredential(token, user)
}

// IssueOperator issues a credential with every permission in the Huiyuan account, valid for
// ttl: for an operator inspecting or repairing streams with the nats CLI, and for tests that look
// at the broker from outside. Services never get one. It returns an error for ttl <= 0.
func (a *Authority) IssueOperator(name string, ttl time.Duration) (*Credential, error) {
	if ttl <= 0 {
		return nil, fmt.Errorf("natsx: operator credential needs a positive lifetime")
	}
	user, pub, err := newUser()
	if err != nil {
		return nil, fmt.Errorf("natsx: issue operator credential: %w", err)
	}
	uc := jwt.NewUserClaims(pub)
	uc.Name = name
	uc.Expires = time.Now().Add(ttl).Unix()
	uc.Tags.Add("operator")
	token, err := uc.Encode(a.account)
	if err != nil {
		return nil, fmt.Errorf("natsx: sign operator credential: %w", err)
	}
	return newCredential(token, user)
}

// newUser creates a user key pair and returns it with its public key.
func newUser() (nkeys.KeyPair, string, error) {
	user, err := nkeys.CreateUser()
	if err != nil {
		return nil, "", err
	}
	pub, err := user.PublicKey()
	if err != nil {
		return nil, "", err
	}
	return user, pub, nil
}
